//! `GET /admin/members.csv`: RFC 4180 with the contract's header, formula
//! cells defused, every member in id order however many pages they take,
//! and only for admins.

use reqwest::StatusCode;

use super::{admin, export_text, parse, HEADER};
use crate::support::db::{count, execute};
use crate::support::{assert_error, spawn_app};

backend_test! {
async fn the_export_is_rfc_4180_with_the_contracts_header() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    app.user("-dash")
        .email(Some("=1+2@example.com"))
        .register()
        .await;
    app.user("plain").email(Some("+tag@example.com")).register().await;
    app.user("noaddress").register().await;
    // A customer id with a comma and quotes: quoted, its quotes doubled.
    execute(
        &app,
        "INSERT INTO billing_customers (user_id, customer_id, created_at) \
         SELECT id, 'cus_a,\"b\"', 0 FROM users WHERE username = 'plain'",
    );

    let text = export_text(&app, &admin).await;

    assert!(text.starts_with(&format!("{HEADER}\r\n")), "{text}");
    assert!(text.contains(",\"cus_a,\"\"b\"\"\","), "{text}");
    let (header, rows) = parse(&text);
    assert_eq!(header.join(","), HEADER);
    assert_eq!(rows.len(), 4);
    let dash = &rows[1];
    assert_eq!(dash[1], "'-dash", "a leading - is defused");
    assert_eq!(dash[2], "'=1+2@example.com");
    assert_eq!(dash[3], "false");
    assert_eq!(dash[4], "free");
    assert_eq!(dash[6], "reader");
    assert!(dash[8].ends_with('Z'), "{}", dash[8]);
    assert_eq!(rows[2][2], "'+tag@example.com");
    assert_eq!(rows[2][10], "cus_a,\"b\"");
    assert_eq!(rows[3][2], "", "no address: an empty cell");
    assert_eq!(rows[0][6], "admin");
}
}

backend_test! {
async fn only_admins_may_export() {
    let app = spawn_app().await;
    let reader = app.logged_in_client("reader").await;
    let author = app.logged_in_client("writer").await;
    execute(&app, "UPDATE users SET role = 'author' WHERE username = 'writer'");

    for client in [&reader, &author] {
        let response = app.get(client, "/admin/members.csv").await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let anonymous = app.get(&app.client(), "/admin/members.csv").await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn an_export_of_many_pages_is_whole_and_in_order() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    // More than two pages of the export, stored in one statement.
    let values: Vec<String> = (0..1_203)
        .map(|n| format!("('m{n:05}', 'm{n:05}', '', 'free', {n}, 'm{n}@example.com', 'm{n}@example.com')"))
        .collect();
    execute(
        &app,
        &format!(
            "INSERT INTO users (username, username_key, password_hash, plan, created_at, email, email_key) VALUES {}",
            values.join(", ")
        ),
    );
    let members = count(&app, "SELECT COUNT(*) AS n FROM users");

    let (_, rows) = parse(&export_text(&app, &admin).await);

    assert_eq!(rows.len() as i64, members);
    let ids: Vec<i64> = rows.iter().map(|row| row[0].parse().unwrap()).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "in id order, none twice");
    assert_eq!(rows.last().unwrap()[1], "m01202");
}
}
