//! `GET /account/export`: everything stored about the caller, and never a
//! hash, a secret or a token.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::db::count;
use crate::support::mail::mailed_token;
use crate::support::{assert_error, session_set_cookie, spawn_app, PASSWORD};
use crate::two_factor::enrol;

backend_test! {
async fn an_account_export_has_every_part_and_no_secret() {
    let app = spawn_app().await;
    let client = app.client();
    let registered = app
        .user("Rosa")
        .email(Some("rosa@example.com"))
        .register_in(&client)
        .await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let cookie = session_set_cookie(&registered).expect("a session cookie");
    let cookie = cookie["session=".len()..].split(';').next().unwrap().to_owned();
    let token = mailed_token(&app, "/verify-email", 1).await;
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    let enrolled = enrol(&app, client).await;
    app.blog_post(&enrolled.client, 1).await;
    let hash: String = {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Hash {
            #[diesel(sql_type = diesel::sql_types::Text)]
            password_hash: String,
        }
        diesel::sql_query("SELECT password_hash FROM users WHERE username = 'Rosa'")
            .get_result::<Hash>(&mut app.db())
            .unwrap()
            .password_hash
    };
    assert!(count(&app, "SELECT COUNT(*) AS n FROM sessions") >= 1);

    let response = app.get(&enrolled.client, "/account/export").await;

    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["account"]["username"], "Rosa");
    assert_eq!(export["account"]["email"], "rosa@example.com");
    assert_eq!(export["account"]["email_verified"], true);
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    let kinds: Vec<&str> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"registered") && kinds.contains(&"email_verified"), "{kinds:?}");
    assert_eq!(export["unlocks"]["post_ids"], serde_json::json!([1]));
    for part in ["gifts", "identities", "passkeys", "newsletters_received"] {
        assert!(export[part].is_array(), "{part}: {export}");
    }
    assert_eq!(export["two_factor"]["totp"], true);
    for secret in [
        PASSWORD,
        hash.as_str(),
        cookie.as_str(),
        enrolled.secret.as_str(),
        token.as_str(),
        enrolled.recovery_codes[0].as_str(),
    ] {
        assert!(!text.contains(secret), "the export holds {secret:?}");
    }
}
}

backend_test! {
async fn an_account_export_needs_a_session() {
    let app = spawn_app().await;

    let response = app.get(&app.client(), "/account/export").await;

    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}
