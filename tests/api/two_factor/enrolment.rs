//! Turning the authenticator app on and off, recovery codes, and what the
//! Account says of them.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{code, enrol, enrolled, ok, pending, second_step, step_start};
use crate::support::db::count;
use crate::support::fakes::smtp::read_messages;
use crate::support::mail::{event_kinds, verified_user};
use crate::support::{assert_error, assert_invalid_field, eventually, spawn_app, PASSWORD};

backend_test! {
async fn enrolment_waits_for_a_first_code_then_shows_ten_recovery_codes_once() {
    let app = spawn_app().await;
    let client = app.logged_in_client("Alice").await;
    let account = app.account_json(&client).await;
    assert_eq!(account["has_password"], true);
    assert_eq!(
        account["two_factor"],
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );

    let response = app.post_json(&client, "/account/totp", &json!({"password": "wrong password"})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let started = ok(app.post_json(&client, "/account/totp", &json!({"password": PASSWORD})).await).await;
    let secret = started["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
    let url = started["otpauth_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("otpauth://totp/tollgate:Alice?secret={secret}&issuer=tollgate")),
        "{url}"
    );
    let svg = started["qr_svg"].as_str().unwrap();
    assert!(svg.contains("<svg") && svg.ends_with("</svg>"), "{svg}");

    // Not on until confirmed: the password alone still signs in.
    assert_eq!(app.login(&app.client(), "Alice", PASSWORD).await.status(), StatusCode::OK);
    let events: Value = app.events(&client, "").await.json().await.unwrap();
    let login = events["events"].as_array().unwrap().iter().find(|e| e["kind"] == "login");
    assert_eq!(login.expect("a login event")["detail"], json!({"method": "password"}));
    assert_eq!(app.account_json(&client).await["two_factor"]["totp"], false);

    // A restart gives a new secret; the first one's codes no longer confirm.
    let restarted = ok(app.post_json(&client, "/account/totp", &json!({"password": PASSWORD})).await).await;
    let secret = restarted["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, started["secret"].as_str().unwrap());
    step_start(&app);
    let old = code(&app, started["secret"].as_str().unwrap(), 0);
    let response = app.post_json(&client, "/account/totp/confirm", &json!({"code": old})).await;
    assert_invalid_field(response, "code").await;
    for bad in [json!({}), json!({"code": 123456}), json!({"code": "12345"})] {
        let response = app.post_json(&client, "/account/totp/confirm", &bad).await;
        assert_invalid_field(response, "code").await;
    }

    let confirmed = ok(app
        .post_json(&client, "/account/totp/confirm", &json!({"code": code(&app, &secret, 0)}))
        .await)
    .await;
    let codes = confirmed["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    for c in codes {
        let c = c.as_str().unwrap();
        let groups: Vec<&str> = c.split('-').collect();
        assert_eq!(groups.len(), 6, "{c}");
        assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| b.is_ascii_alphanumeric())), "{c}");
    }
    let account = app.account_json(&client).await;
    assert_eq!(
        account["two_factor"],
        json!({"totp": true, "recovery_codes_left": 10, "passkeys": 0})
    );
    // Only their digests are kept: no stored row holds a code.
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM recovery_codes WHERE length(digest) = 64"), 10);
    for c in codes {
        let canonical = c.as_str().unwrap().replace('-', "");
        let sql = format!("SELECT COUNT(*) AS n FROM recovery_codes WHERE digest LIKE '%{canonical}%'");
        assert_eq!(count(&app, &sql), 0);
    }

    // On now: a second enrolment or confirmation is refused.
    let response = app.post_json(&client, "/account/totp", &json!({"password": PASSWORD})).await;
    assert_error(response, StatusCode::CONFLICT, "two_factor_enabled").await;
    let response = app
        .post_json(&client, "/account/totp/confirm", &json!({"code": code(&app, &secret, 0)}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "two_factor_enabled").await;
    let kinds = event_kinds(&app, &client).await;
    assert_eq!(kinds.iter().filter(|k| *k == "two_factor_enabled").count(), 1, "{kinds:?}");
}
}

backend_test! {
async fn nothing_to_confirm_regenerate_or_turn_off_without_an_authenticator() {
    let app = spawn_app().await;
    let client = app.logged_in_client("Alice").await;
    let response = app.post_json(&client, "/account/totp/confirm", &json!({"code": "123456"})).await;
    assert_error(response, StatusCode::CONFLICT, "two_factor_not_enabled").await;
    let response = app
        .post_json(&client, "/account/recovery-codes", &json!({"password": PASSWORD}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "two_factor_not_enabled").await;
    let response = app
        .delete_json(&client, "/account/totp", &json!({"password": PASSWORD, "code": "123456"}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "two_factor_not_enabled").await;
    // Anonymous: the guard answers first.
    let response = app.post_json(&app.client(), "/account/totp", &json!({"password": PASSWORD})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn regenerated_recovery_codes_replace_the_old_ones() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let response = app
        .post_json(&alice.client, "/account/recovery-codes", &json!({"password": "wrong password"}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let fresh = ok(app
        .post_json(&alice.client, "/account/recovery-codes", &json!({"password": PASSWORD}))
        .await)
    .await;
    let fresh: Vec<String> = fresh["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !alice.recovery_codes.contains(c)));

    let browser = pending(&app, "Alice").await;
    let response = second_step(&app, &browser, json!({"recovery_code": alice.recovery_codes[0]})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let response = second_step(&app, &browser, json!({"recovery_code": fresh[0]})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let kinds = event_kinds(&app, &alice.client).await;
    assert!(kinds.contains(&"recovery_codes_regenerated".to_owned()), "{kinds:?}");
}
}

backend_test! {
async fn turning_it_off_takes_the_password_and_a_code_and_removes_the_recovery_codes() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let off = |body: Value| {
        let (app, client) = (&app, &alice.client);
        async move { app.delete_json(client, "/account/totp", &body).await }
    };
    let right = code(&app, &alice.secret, 0);
    let response = off(json!({"password": "wrong password", "code": right})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let response = off(json!({"password": PASSWORD})).await;
    assert_invalid_field(response, "code").await;
    let response = off(json!({"password": PASSWORD, "code": "000000"})).await;
    assert_invalid_field(response, "code").await;
    // A recovery code does too.
    let response = off(json!({"password": PASSWORD, "code": alice.recovery_codes[3].to_uppercase()})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(
        app.account_json(&alice.client).await["two_factor"],
        json!({"totp": false, "recovery_codes_left": 0, "passkeys": 0})
    );
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM recovery_codes"), 0);
    assert_eq!(app.login(&app.client(), "Alice", PASSWORD).await.status(), StatusCode::OK);
    let kinds = event_kinds(&app, &alice.client).await;
    assert!(kinds.contains(&"two_factor_disabled".to_owned()), "{kinds:?}");
}
}

backend_test! {
async fn an_admin_removes_a_users_second_factor_for_a_lost_phone() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let admin = app.logged_in_client("Ada").await;
    let id = app.account_json(&alice.client).await["id"].as_i64().unwrap();
    let path = format!("/admin/users/{id}/two-factor");

    let response = app.delete(&alice.client, &path).await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    crate::support::db::execute(&app, "UPDATE users SET role = 'admin' WHERE username = 'Ada'");
    let response = app.delete(&admin, "/admin/users/999999/two-factor").await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    // A sign-in waiting for the lost phone's code ends with it.
    let waiting = pending(&app, "Alice").await;
    assert_eq!(app.delete(&admin, &path).await.status(), StatusCode::NO_CONTENT);
    let response = second_step(&app, &waiting, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;

    assert_eq!(app.login(&app.client(), "Alice", PASSWORD).await.status(), StatusCode::OK);
    let events: Value = app.events(&alice.client, "").await.json().await.unwrap();
    let removed = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "two_factor_disabled")
        .expect("a two_factor_disabled event");
    assert_eq!(removed["detail"]["by"], "Ada");
    assert_eq!(removed["ip"], Value::Null);
}
}

backend_test! {
async fn turning_it_off_sends_a_notice_to_the_verified_address() {
    let app = spawn_app().await;
    let client = verified_user(&app, "alice", "alice@example.com").await;
    let alice = enrol(&app, client).await;
    let dir = app.mail_dir();
    let notices = || {
        read_messages(&dir)
            .iter()
            .filter(|m| m.subject().contains("Two-step sign-in was turned off"))
            .count()
    };
    assert_eq!(notices(), 0, "turning it on sends nothing");
    let off = json!({"password": PASSWORD, "code": code(&app, &alice.secret, 0)});
    let response = app.delete_json(&alice.client, "/account/totp", &off).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    eventually(|| notices() == 1).await;
    assert_eq!(notices(), 1);
}
}

backend_test! {
async fn wrong_codes_when_turning_it_off_count_towards_the_lockout() {
    let app = crate::support::spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let alice = enrolled(&app, "Alice").await;
    for wrong in ["000000", "111111", "222222"] {
        let response = app
            .delete_json(&alice.client, "/account/totp", &json!({"password": PASSWORD, "code": wrong}))
            .await;
        assert_invalid_field(response, "code").await;
    }
    let right = code(&app, &alice.secret, 0);
    let response = app
        .delete_json(&alice.client, "/account/totp", &json!({"password": PASSWORD, "code": right}))
        .await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert_eq!(app.account_json(&alice.client).await["two_factor"]["totp"], true);
}
}
