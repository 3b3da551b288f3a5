//! The `tollgate` binary itself: its commands and its refusal of bad settings.

use crate::support::cli::{tollgate, tollgate_on};
use crate::support::spawn_app_and_user;

#[test]
fn migrate_creates_the_database_and_exits() {
    let dir = tempfile::tempdir().unwrap();

    let output = tollgate(dir.path()).arg("migrate").output().unwrap();

    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("tollgate.db").exists());
    let again = tollgate(dir.path()).arg("migrate").output().unwrap();
    assert!(again.status.success(), "migrating twice is harmless");
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();

    for (name, value) in [
        ("BCRYPT_COST", "99"),
        ("PORT", "eighty"),
        ("COOKIE_SAMESITE", "none"),
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("RUST_LOG", "tollgate=[["),
    ] {
        let output = tollgate(dir.path())
            .arg("serve")
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{name}={value} must not start");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(
        !dir.path().join("tollgate.db").exists(),
        "nothing was created"
    );
}

#[test]
fn migrate_names_the_database_it_cannot_reach() {
    let dir = tempfile::tempdir().unwrap();

    let output = tollgate(dir.path())
        .arg("migrate")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
        .env("DATABASE_TIMEOUT_SECONDS", "1")
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
    assert!(
        !dir.path().join("postgres:").exists(),
        "no SQLite file was made of the URL"
    );
}

#[test]
fn set_plan_rejects_an_unknown_plan() {
    let dir = tempfile::tempdir().unwrap();

    let output = tollgate(dir.path())
        .args(["set-plan", "alice", "gold"])
        .output()
        .unwrap();

    assert!(!output.status.success());
}

backend_test! {
async fn the_commands_exit_with_their_documented_status_every_time() {
    // set-plan and migrate on PostgreSQL used to crash (status 139) about one
    // run in ten, after their success line: a pool's connection threads were
    // still inside libpq when the process exited. Each run must now end with
    // the status the README documents: 0, or 1 for an unknown user.
    let (app, _) = spawn_app_and_user("Alice").await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| tollgate_on(dir.path(), &app.database_url, args);

    for round in 0..20 {
        for (args, expected) in [
            (&["migrate"][..], 0),
            (&["set-plan", "alice", "premium"][..], 0),
            (&["set-plan", "nobody", "free"][..], 1),
        ] {
            let output = run(args);
            assert_eq!(
                output.status.code(),
                Some(expected),
                "round {round}: tollgate {args:?}: {output:?}"
            );
        }
    }
}
}

backend_test! {
async fn set_role_changes_the_role_on_live_sessions_at_once() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| tollgate_on(dir.path(), &app.database_url, args);
    let role = || async {
        let me: serde_json::Value = app.check_session(&client).await.json().await.unwrap();
        me["role"].as_str().unwrap().to_owned()
    };
    assert_eq!(role().await, "reader", "everyone starts a reader");

    let output = run(&["set-role", "ALICE", "author"]);

    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "ALICE is now an author"
    );
    assert_eq!(role().await, "author", "on the session she already held");
    assert_eq!(app.account_json(&client).await["role"], "author");
    assert!(run(&["set-role", "alice", "admin"]).status.success());
    assert!(run(&["set-role", "alice", "admin"]).status.success(), "again: no change");
    assert_eq!(role().await, "admin");
    let events: serde_json::Value = app.events(&client, "").await.json().await.unwrap();
    let changes: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "role_changed")
        .map(|e| e["detail"].clone())
        .collect();
    assert_eq!(
        changes,
        [
            serde_json::json!({"from": "author", "to": "admin", "by": null}),
            serde_json::json!({"from": "reader", "to": "author", "by": null}),
        ],
        "one event a change, newest first"
    );

    let unknown = run(&["set-role", "nobody", "admin"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody"));
    let bad = run(&["set-role", "alice", "superuser"]);
    assert!(!bad.status.success());
    assert_eq!(role().await, "admin", "nothing changed");

    // The rule an admin's change keeps holds on the command line too.
    let last = run(&["set-role", "alice", "reader"]);
    assert_eq!(last.status.code(), Some(1), "{last:?}");
    let said = String::from_utf8_lossy(&last.stderr);
    assert!(said.contains("alice is the last enabled admin"), "{said}");
    assert_eq!(role().await, "admin", "still the admin");
    app.user("Bob").register().await;
    assert!(run(&["set-role", "bob", "admin"]).status.success());
    assert!(run(&["set-role", "alice", "reader"]).status.success(), "another is left");
    assert_eq!(role().await, "reader");
}
}
