//! Crash safety: `kill -9` in the middle of a mixed load of registrations,
//! logins and metered reads, again and again. After each restart nothing
//! acknowledged is lost, no row is half-written, and no meter is over its
//! limit.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::db::count_in;
use crate::support::{spawn_app, spawn_binary, PASSWORD};

/// What the server acknowledged with a 2xx before it was killed.
#[derive(Default)]
struct Acknowledged {
    users: BTreeSet<String>,
    unlocks: BTreeSet<(String, i64)>,
    /// `session=…` of each acknowledged login.
    sessions: Vec<String>,
}

async fn load(base: String, worker: usize, round: usize, acked: Arc<Mutex<Acknowledged>>) {
    for i in 0.. {
        // A browser per user, so that no later login ends this one's session.
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let name = format!("w{worker}r{round}n{i}");
        let Ok(response) = client
            .post(format!("{base}/register"))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
            .await
        else {
            return; // the server is gone
        };
        if response.status() != StatusCode::CREATED {
            continue;
        }
        acked.lock().unwrap().users.insert(name.clone());
        for post in 1..=7 {
            match client.get(format!("{base}/blog/{post}")).send().await {
                Ok(r) if r.status() == StatusCode::OK => {
                    acked.lock().unwrap().unlocks.insert((name.clone(), post));
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
        match client
            .post(format!("{base}/login"))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
            .await
        {
            Ok(r) if r.status() == StatusCode::OK => {
                if let Some(cookie) = crate::support::session_set_cookie(&r) {
                    let pair = cookie.split(';').next().unwrap_or_default().to_owned();
                    acked.lock().unwrap().sessions.push(pair);
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Unlock {
    #[diesel(sql_type = diesel::sql_types::Text)]
    username: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    post_id: i64,
}

#[derive(diesel::QueryableByName)]
struct UserRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    username: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    password_hash: String,
}

backend_test! {
async fn kill_9_under_load_loses_nothing_acknowledged() {
    // The database (and, on PostgreSQL, its URL) comes from the harness;
    // the server is the real binary, so that it can be killed.
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "crash-test-secret-".repeat(5);
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", secret.as_str()),
        ("FREE_READS", "5"),
        ("RUST_LOG", "warn,tollgate=info,tollgate::access=warn"),
    ];
    let acked = Arc::new(Mutex::new(Acknowledged::default()));

    for round in 0..3 {
        let (mut child, port, _output) = spawn_binary(dir.path(), &env);
        let base = format!("http://127.0.0.1:{port}");
        let workers: Vec<_> = (0..6)
            .map(|worker| tokio::spawn(load(base.clone(), worker, round, acked.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(700 + 300 * round as u64)).await;
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        for worker in workers {
            let _ = worker.await;
        }
    }

    let (mut child, port, _output) = spawn_binary(dir.path(), &env);
    let mut db = app.db();
    if app.database_url.ends_with(".db") {
        #[derive(diesel::QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }
        let check: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut db).unwrap();
        assert_eq!(check[0].integrity_check, "ok");
    }
    let users: Vec<UserRow> = diesel::sql_query("SELECT username, password_hash FROM users")
        .load(&mut db)
        .unwrap();
    let stored: BTreeSet<String> = users.iter().map(|u| u.username.clone()).collect();
    let unlocks: BTreeSet<(String, i64)> = diesel::sql_query(
        "SELECT users.username, unlocks.post_id FROM unlocks JOIN users ON users.id = unlocks.user_id",
    )
    .load::<Unlock>(&mut db)
    .unwrap()
    .into_iter()
    .map(|u| (u.username, u.post_id))
    .collect();
    let most = count_in(
        &mut db,
        "SELECT COALESCE(MAX(n), 0) AS n FROM (SELECT COUNT(*) AS n FROM unlocks GROUP BY user_id, month) AS per_month",
    );

    let acked = std::mem::take(&mut *acked.lock().unwrap());
    eprintln!(
        "acknowledged {} registrations, {} reads and {} logins over 3 kills; {} users stored",
        acked.users.len(),
        acked.unlocks.len(),
        acked.sessions.len(),
        stored.len()
    );
    assert!(!acked.users.is_empty(), "the load registered someone");
    assert!(acked.users.is_subset(&stored), "an acknowledged registration was lost");
    assert!(acked.unlocks.is_subset(&unlocks), "an acknowledged read was lost");
    assert!(most <= 5, "a meter went over its limit: {most}");
    let base = format!("http://127.0.0.1:{port}");
    for cookie in &acked.sessions {
        let check = reqwest::Client::new()
            .get(format!("{base}/check_session"))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(check.status(), StatusCode::OK, "an acknowledged login was lost");
    }
    for user in &users {
        assert!(user.password_hash.starts_with("$2b$04$") && user.password_hash.len() == 60);
        let login = reqwest::Client::new()
            .post(format!("{base}/login"))
            .json(&json!({"username": user.username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::OK, "{} cannot log in", user.username);
    }
    let _ = child.kill();
    let _ = child.wait();
}
}
