//! Members in and out: every member as CSV for an admin
//! (`GET /admin/members.csv`), members moved in from such a file or from
//! Ghost's (`tollgate import-members`), and a reader's own data
//! (`GET /account/export`).

mod account_export;
mod export;
mod import;

use reqwest::{Client, StatusCode};

use crate::support::db::execute;
use crate::support::TestApp;

/// The admin `Ada` (with an address, so that an export of her reads
/// back), logged in.
pub async fn admin(app: &TestApp) -> Client {
    let admin = app
        .user("Ada")
        .email(Some("ada@example.com"))
        .register()
        .await;
    execute(
        app,
        "UPDATE users SET role = 'admin' WHERE username = 'Ada'",
    );
    admin
}

/// The members' export as `admin` downloads it: its raw text.
pub async fn export_text(app: &TestApp, admin: &Client) -> String {
    let response = app.get(admin, "/admin/members.csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// `text` read as RFC 4180: the header and the rows, each as its cells.
pub fn parse(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The contract's header.
pub const HEADER: &str = "id,username,email,email_verified,plan,premium_until,role,newsletter,\
                          created_at,last_login_at,stripe_customer_id,disabled";
