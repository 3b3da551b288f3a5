//! `tollgate import-members`: rows counted as created, skipped or refused
//! (with their lines), safe to run twice, a dry run that writes nothing,
//! addresses by registration's rule, and members who work at once: they
//! sign in by email, keep their premium and newsletter, and their Stripe
//! customer's next event reaches them. tollgate's own export and Ghost's
//! read as they are.

use std::path::Path;
use std::process::Output;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{admin, export_text, parse};
use crate::support::cli::tollgate_on;
use crate::support::db::count;
use crate::support::fakes::smtp::read_messages;
use crate::support::stripe::{billing_app, deliver_ok, subscription_event, Customer};
use crate::support::{eventually, spawn_app, TestApp};

/// Writes `text` to `name` in a folder of the test's and runs
/// `tollgate import-members` on it with `flags`.
fn import(app: &TestApp, dir: &Path, text: &[u8], flags: &[&str]) -> Output {
    let file = dir.join("members.csv");
    std::fs::write(&file, text).unwrap();
    let mut args = vec!["import-members", file.to_str().unwrap()];
    args.extend_from_slice(flags);
    tollgate_on(dir, &app.database_url, &args)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn members(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM users")
}

backend_test! {
async fn rows_are_created_skipped_or_refused_with_their_lines() {
    let app = spawn_app().await;
    app.user("held").email(Some("Held@Example.com")).register().await;
    let dir = tempfile::tempdir().unwrap();
    let file = "email,name\n\
                ann@example.com,Ann\n\
                not an address,Bad\n\
                ANN@example.com,Ann again\n\
                held@example.COM,Held\n\
                \"Name <x@example.com>\",Display\n\
                bob@example.com,\n";

    let first = import(&app, dir.path(), file.as_bytes(), &[]);

    assert_eq!(first.status.code(), Some(1), "{first:?}");
    assert!(stdout(&first).contains("created 2, skipped 2, refused 2"), "{first:?}");
    let errors = stderr(&first);
    assert!(errors.contains("line 3: email:"), "{errors}");
    assert!(errors.contains("line 6: email:"), "{errors}");
    assert_eq!(members(&app), 3);
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM users WHERE username IN ('Ann', 'bob') AND password_hash = ''"),
        2,
        "no password: they sign in by email"
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM events WHERE kind = 'registered'"),
        3,
        "a registration each, like any other"
    );

    let again = import(&app, dir.path(), file.as_bytes(), &[]);

    assert!(stdout(&again).contains("created 0, skipped 4, refused 2"), "{again:?}");
    assert_eq!(members(&app), 3, "a second run changes nothing");
}
}

backend_test! {
async fn a_dry_run_writes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = b"email,complimentary_plan,stripe_customer_id\na@example.com,true,cus_1\nb@example.com,,\n";

    let dry = import(&app, dir.path(), file, &["--dry-run"]);

    assert!(dry.status.success(), "{dry:?}");
    assert!(stdout(&dry).contains("created 2, skipped 0, refused 0"), "{dry:?}");
    assert_eq!(members(&app), 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_customers"), 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events"), 0);
}
}

backend_test! {
async fn a_file_that_cannot_be_read_changes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let mut broken = b"email\na@example.com\n".to_vec();
    broken.extend_from_slice(b"b\xff\xfe@example.com\n");

    for text in [&broken[..], b"name,note\nAnn,hello\n"] {
        let output = import(&app, dir.path(), text, &[]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
    }
    let missing = tollgate_on(dir.path(), &app.database_url, &["import-members", "nowhere.csv"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("nowhere.csv"), "{missing:?}");
    assert_eq!(members(&app), 0);
}
}

backend_test! {
async fn plans_newsletters_and_verification_carry_over() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = "email,username,newsletter,email_verified,plan,premium_until,complimentary_plan\n\
                comp@example.com,comp,yes,true,,,true\n\
                until@example.com,until,no,true,premium,2999-01-01T00:00:00Z,\n\
                stored@example.com,stored,1,false,premium,,\n\
                lapsed@example.com,lapsed,0,true,free,2001-01-01T00:00:00Z,false\n";

    let output = import(&app, dir.path(), file.as_bytes(), &[]);

    assert!(output.status.success(), "{output:?}");
    let n = |sql: &str| count(&app, &format!("SELECT COUNT(*) AS n FROM users WHERE {sql}"));
    assert_eq!(n("email_verified"), 0, "verified only with --verified");
    assert_eq!(n("newsletter AND username IN ('comp', 'stored')"), 2);
    assert_eq!(n("newsletter"), 2);
    assert_eq!(n("username = 'comp' AND premium_until = 253402300799"), 1);
    assert_eq!(n("username = 'until' AND premium_until = 32472144000 AND plan = 'free'"), 1);
    assert_eq!(n("username = 'stored' AND plan = 'premium' AND premium_until IS NULL"), 1);
    assert_eq!(n("username = 'lapsed' AND plan = 'free' AND premium_until IS NULL"), 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM events WHERE kind = 'plan_changed'"),
        3,
        "as set-plan records a change"
    );

    let verified_dir = tempfile::tempdir().unwrap();
    let file = "email,email_verified\nyes@example.com,true\nno@example.com,false\n";
    let output = import(&app, verified_dir.path(), file.as_bytes(), &["--verified"]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(n("email_verified"), 1);
    assert_eq!(n("email_verified AND email = 'yes@example.com'"), 1);
}
}

backend_test! {
async fn an_imported_member_signs_in_by_email_code() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = "email,name,email_verified\nMira@Example.com,Mira,true\n";
    assert!(import(&app, dir.path(), file.as_bytes(), &["--verified"]).status.success());
    let id = count(&app, "SELECT id AS n FROM users WHERE username = 'Mira'");
    let client = app.client();

    let asked = app
        .post_json(&client, "/login/email", &json!({"email": "mira@example.com"}))
        .await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let mail = app.mail_dir();
    eventually(|| read_messages(&mail).iter().any(|m| m.is_to("Mira@Example.com"))).await;
    let subject = read_messages(&mail)[0].subject();
    let code = subject.rsplit(' ').next().unwrap().to_owned();
    let signed_in = app
        .post_json(
            &client,
            "/login/email/verify",
            &json!({"email": "mira@example.com", "code": code}),
        )
        .await;

    assert_eq!(signed_in.status(), StatusCode::OK, "the member's own account, not a new one");
    let user: Value = signed_in.json().await.unwrap();
    assert_eq!(user["id"], id);
    assert_eq!(user["username"], "Mira");
}
}

backend_test! {
async fn a_stripe_event_for_an_imported_customer_reaches_the_member() {
    let (app, _stripe) = billing_app(&[]).await;
    let dir = tempfile::tempdir().unwrap();
    let file = "email,stripe_customer_id\npaid@example.com,cus_ghost_1\ntwin@example.com,cus_ghost_1\n";

    let output = import(&app, dir.path(), file.as_bytes(), &[]);

    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(stderr(&output).contains("line 3: stripe_customer_id"), "{output:?}");
    // Another platform's checkout started the subscription: no tollgate mark.
    let customer = Customer::unknown("cus_ghost_1");
    let event = subscription_event("evt_1", "customer.subscription.updated", app.now(), "sub_ghost_1", &customer, "active");
    deliver_ok(&app, &event).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM users WHERE email = 'paid@example.com' AND plan = 'premium'"),
        1
    );
}
}

backend_test! {
async fn tollgates_export_imports_into_a_fresh_server_as_the_same_members() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let reader = app.user("-Reader").email(Some("+r@example.com")).register().await;
    app.patch_json(&reader, "/account", &json!({"newsletter": true})).await;
    app.user("grant").email(Some("grant@example.com")).register().await;
    crate::support::db::execute(
        &app,
        "UPDATE users SET premium_until = 32472144000, email_verified = TRUE WHERE username = 'grant'",
    );
    let exported = export_text(&app, &admin).await;
    let fresh = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();

    let output = import(&fresh, dir.path(), exported.as_bytes(), &["--verified"]);

    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("created 3, skipped 0, refused 0"), "{output:?}");
    let (_, before) = parse(&exported);
    let after = export_rows(&fresh).await;
    // Everything but the id, the role (never imported), the last login
    // and the disabled flag is the same.
    let same = |rows: &Vec<Vec<String>>| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| [1, 2, 3, 4, 5, 7, 8, 10].iter().map(|&i| r[i].clone()).collect())
            .collect()
    };
    assert_eq!(same(&before), same(&after));
}
}

/// The fresh server's export, read by an admin made there for the test.
async fn export_rows(app: &TestApp) -> Vec<Vec<String>> {
    let viewer = app.logged_in_client("viewer").await;
    crate::support::db::execute(
        app,
        "UPDATE users SET role = 'admin' WHERE username = 'viewer'",
    );
    let (_, rows) = parse(&export_text(app, &viewer).await);
    rows.into_iter().filter(|r| r[1] != "viewer").collect()
}

backend_test! {
async fn a_ghost_members_export_reads_as_it_is() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let ghost = "\u{feff}id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,created_at,deleted_at,labels,tiers\r\n\
        63c3f0a1b2c3d4e5f6a7b8c9,jose@example.com,José Núñez,\"met at the fair, twice\",true,false,cus_Abc123,2023-01-15T10:20:30.000Z,,\"vip, early\",\r\n\
        63c3f0a1b2c3d4e5f6a7b8ca,comped@example.com,,,false,true,,2022-05-01T08:00:00.000Z,,,Gold\r\n\
        63c3f0a1b2c3d4e5f6a7b8cb,quiet@example.com,Q,\"a note\nover two lines\",false,false,,2021-12-31T23:59:59.000Z,,,\r\n";

    let output = import(&app, dir.path(), ghost.as_bytes(), &[]);

    assert!(output.status.success(), "{output:?}");
    assert!(stdout(&output).contains("created 3, skipped 0, refused 0"), "{output:?}");
    let n = |sql: &str| count(&app, &format!("SELECT COUNT(*) AS n FROM users WHERE {sql}"));
    assert_eq!(n("username = 'Jose_Nunez' AND newsletter AND created_at = 1673778030"), 1);
    assert_eq!(n("username = 'comped' AND premium_until IS NOT NULL AND NOT newsletter"), 1);
    assert_eq!(n("username = 'userQ' AND email = 'quiet@example.com'"), 1, "a short name is made valid");
    assert_eq!(n("email = 'quiet@example.com' AND created_at = 1640995199"), 1);
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM billing_customers WHERE customer_id = 'cus_Abc123'"),
        1
    );
}
}

backend_test! {
async fn a_crash_mid_file_leaves_only_whole_members_and_the_next_run_finishes_it() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    // Enough rows that the import is still writing when it is killed;
    // every tenth member with a Stripe customer and complimentary premium.
    let mut text = String::from("email,name,stripe_customer_id,complimentary_plan\n");
    let rows = 8_000;
    for i in 1..=rows {
        let (customer, premium) = match i % 10 {
            0 => (format!("cus_crash{i}"), true),
            _ => (String::new(), false),
        };
        text.push_str(&format!("m{i}@example.com,Member {i},{customer},{premium}\n"));
    }
    let file = dir.path().join("members.csv");
    std::fs::write(&file, &text).unwrap();
    let before = members(&app);

    let mut child = crate::support::cli::tollgate(dir.path())
        .args(["import-members", file.to_str().unwrap()])
        .env("DATABASE_URL", &app.database_url)
        .env("SESSION_SECRET", "s".repeat(64))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL: nothing runs after it) once some batches are in.
    eventually(|| members(&app) > before + 1_000).await;
    child.kill().unwrap();
    child.wait().unwrap();

    let made = members(&app) - before;
    assert!(made > 0 && made < rows, "killed after {made} members");
    // Whole members only: each with its address, and every tenth with its
    // customer and its premium.
    let imported = "FROM users WHERE username LIKE 'Member%'";
    assert_eq!(count(&app, &format!("SELECT COUNT(*) AS n {imported} AND email IS NULL")), 0);
    let tenths = count(&app, &format!("SELECT COUNT(*) AS n {imported} AND email LIKE '%0@example.com'"));
    let linked = count(&app, "SELECT COUNT(*) AS n FROM billing_customers c JOIN users u ON u.id = c.user_id WHERE u.username LIKE 'Member%'");
    let premium = count(&app, &format!("SELECT COUNT(*) AS n {imported} AND premium_until IS NOT NULL"));
    assert!(tenths > 0);
    assert_eq!((linked, premium), (tenths, tenths));

    // The next run brings in the rest and skips what is there.
    let output = tollgate_on(dir.path(), &app.database_url, &["import-members", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), format!("created {}, skipped {made}, refused 0", rows - made));
    assert_eq!(members(&app) - before, rows);
}
}
