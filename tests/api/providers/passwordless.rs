//! Accounts made by a provider, without a password: sensitive changes
//! within 300 s of signing in (`403 reauth_required` after, on the app's
//! clock), a link to another identity and a first password set under the
//! same rule, and the last way in kept (`409 last_login_method`).

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{account, identities, lands_at, last_event, spawn, Kind, Person};
use crate::support::authenticator::Authenticator;
use crate::support::mail::mailed_token;
use crate::support::{assert_error, TestApp};

fn frank() -> Person {
    Person::new("9001", "frank", "frank@example.com")
}

const NEW_PASSWORD: &str = "a long new passphrase";

/// Frank's login with the password he has set, in a new browser.
async fn frank_logs_in(app: &TestApp) -> StatusCode {
    let body = json!({"username": "frank", "password": NEW_PASSWORD});
    app.post_json(&app.client(), "/login", &body).await.status()
}

backend_test! {
    async fn sensitive_changes_need_a_recent_sign_in() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &frank()).await, "/");

        // Within 300 s the sign-in stands for the password, omitted.
        let started = app.post_json(&browser, "/account/totp", &json!({})).await;
        assert_eq!(started.status(), StatusCode::OK);
        app.advance_clock(301);
        for (method, path) in [
            ("POST", "/account/totp"),
            ("POST", "/account/passkeys/options"),
            ("POST", "/email"),
            ("POST", "/password"),
            ("POST", "/account/identities"),
            ("DELETE", "/account"),
        ] {
            let body = match path {
                "/email" => json!({"email": "f2@example.com"}),
                "/account/identities" => json!({"provider": "github"}),
                "/password" => json!({"new_password": NEW_PASSWORD}),
                _ => json!({}),
            };
            let answer = match method {
                "POST" => app.post_json(&browser, path, &body).await,
                _ => app.delete_json(&browser, path, &body).await,
            };
            assert_error(answer, StatusCode::FORBIDDEN, "reauth_required").await;
        }
        assert_eq!(account(&app, &browser).await["has_password"], false);

        // Signing in again opens the window again: a first password.
        lands_at(&idp.sign_in(&app, &browser, &frank()).await, "/");
        let set = app
            .post_json(&browser, "/password", &json!({"new_password": NEW_PASSWORD}))
            .await;
        assert_eq!(set.status(), StatusCode::NO_CONTENT);
        assert_eq!(account(&app, &browser).await["has_password"], true);
        last_event(&app, &browser, "password_changed").await;
        assert_eq!(frank_logs_in(&app).await, StatusCode::OK);

        // With a password, it is asked for again, however recent the
        // sign-in.
        let without = app.post_json(&browser, "/account/recovery-codes", &json!({})).await;
        assert_error(without, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}

backend_test! {
    async fn an_account_without_a_password_links_another_identity_within_300_s_of_signing_in() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &frank()).await, "/");
        let id = account(&app, &browser).await["id"].clone();

        // The sign-in stands for the password it does not have.
        let work = Person::new("9002", "frank-at-work", "frank@work.example");
        let asked = idp.ask_to_link(&app, &browser, json!({})).await;
        lands_at(&idp.link_through(&app, &browser, &work, asked).await, "/");
        assert_eq!(identities(&app, &browser).await.len(), 2);
        assert_eq!(account(&app, &browser).await["id"], id);
        last_event(&app, &browser, "identity_linked").await;

        // Past the window the same ask is refused, and starts nothing.
        app.advance_clock(301);
        let late = idp.ask_to_link(&app, &browser, json!({})).await;
        assert_error(late, StatusCode::FORBIDDEN, "reauth_required").await;
        assert_eq!(identities(&app, &browser).await.len(), 2);

        // The identity linked signs in to the same account.
        let elsewhere = app.client();
        lands_at(&idp.sign_in(&app, &elsewhere, &work).await, "/");
        assert_eq!(account(&app, &elsewhere).await["id"], id);
    }
}

backend_test! {
    async fn the_last_way_in_cannot_be_removed() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &frank()).await, "/");
        let linked = identities(&app, &browser).await;
        let path = format!("/account/identities/{}", linked[0]["id"]);
        assert_error(
            app.delete(&browser, &path).await,
            StatusCode::CONFLICT,
            "last_login_method",
        )
        .await;
        assert_eq!(identities(&app, &browser).await.len(), 1);

        // Another's identity, or none, is not found.
        let other = app.logged_in_client("grace").await;
        assert_error(app.delete(&other, &path).await, StatusCode::NOT_FOUND, "not_found").await;
        assert_error(
            app.delete(&browser, "/account/identities/x").await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;

        // With a password it may go; the account signs in with that.
        let set = app
            .post_json(&browser, "/password", &json!({"new_password": NEW_PASSWORD}))
            .await;
        assert_eq!(set.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.delete(&browser, &path).await.status(), StatusCode::NO_CONTENT);
        assert!(identities(&app, &browser).await.is_empty());
        let unlinked = last_event(&app, &browser, "identity_unlinked").await;
        assert_eq!(unlinked["detail"]["provider"], "github");

        // The address both sides verified still leads the provider here,
        // and links the identity again — a join, which signs out the
        // account's other sessions.
        let id = account(&app, &browser).await["id"].clone();
        let fresh = app.client();
        lands_at(&idp.sign_in(&app, &fresh, &frank()).await, "/");
        assert_eq!(account(&app, &fresh).await["id"], id);
        assert_eq!(identities(&app, &fresh).await.len(), 1);
        assert_eq!(app.check_session(&browser).await.status(), StatusCode::UNAUTHORIZED);
    }
}

backend_test! {
    async fn a_reset_link_gives_a_first_password() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &frank()).await, "/");
        // The provider verified the address: no link was sent for it, so
        // the reset's is the first message.
        let asked = app.forgot_password("frank@example.com").await;
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
        let token = mailed_token(&app, "/reset-password", 1).await;
        let reset = app.reset_password(&token, NEW_PASSWORD).await;
        assert_eq!(reset.status(), StatusCode::NO_CONTENT);
        assert_eq!(frank_logs_in(&app).await, StatusCode::OK);
    }
}

backend_test! {
    async fn a_passkey_is_a_way_in_too() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &frank()).await, "/");
        // Within the window, a passkey without a password.
        let options: Value = app
            .post_json(&browser, "/account/passkeys/options", &json!({}))
            .await
            .json()
            .await
            .unwrap();
        let mut laptop = Authenticator::local();
        let credential = laptop.create(&options);
        let added = app
            .post_json(&browser, "/account/passkeys", &json!({"credential": credential}))
            .await;
        assert_eq!(added.status(), StatusCode::CREATED);
        let passkey: Value = added.json().await.unwrap();

        // The identity may go now: the passkey is left.
        let linked = identities(&app, &browser).await;
        let path = format!("/account/identities/{}", linked[0]["id"]);
        assert_eq!(app.delete(&browser, &path).await.status(), StatusCode::NO_CONTENT);
        // And the passkey is the last way in.
        let removed = app
            .delete_json(&browser, &format!("/account/passkeys/{}", passkey["id"]), &json!({}))
            .await;
        assert_error(removed, StatusCode::CONFLICT, "last_login_method").await;
        assert_eq!(account(&app, &browser).await["two_factor"]["passkeys"], 1);
    }
}
