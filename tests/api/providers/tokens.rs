//! The ID token's checks, against the real OpenID provider: a token for
//! another nonce, an expired one, one signed by a key the issuer does not
//! publish; and a key rotation, which the app follows by fetching the
//! issuer's keys again.

use reqwest::StatusCode;

use super::{lands_at, location, refused_with, spawn_oidc, Idp, Person, CORP};
use crate::support::oidc::OidcProvider;
use crate::support::{free_port, spawn_app_with};

fn erin() -> Person {
    Person::new("8001", "erin", "erin@example.com")
}

backend_test! {
    async fn a_token_for_another_nonce_is_refused() {
        let Some((idp, app)) = spawn_oidc(&[], None).await else { return };
        let person = erin();
        idp.set_person(&person).await;
        let browser = app.client();
        let start = app.get(&browser, &format!("/auth/{CORP}/start")).await;
        // Someone between the browser and the provider swaps the nonce:
        // the token the provider then signs is for that one.
        let mut to = reqwest::Url::parse(&location(&start)).unwrap();
        let pairs: Vec<(String, String)> = to
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "nonce" { "another-nonce".into() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        to.query_pairs_mut().clear().extend_pairs(pairs);
        let back = idp.through(&app, &browser, to.as_str(), &person).await;
        refused_with(&browser.get(&back).send().await.unwrap(), "invalid_id_token");
        assert_eq!(app.check_session(&browser).await.status(), StatusCode::UNAUTHORIZED);
    }
}

backend_test! {
    async fn an_expired_token_is_refused() {
        // Tokens that live a minute, judged on the app's clock.
        let Some((idp, app)) = spawn_oidc(&[], Some(60)).await else { return };
        // Within its minute it is taken.
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &erin()).await, "/");

        // Two minutes later, it is not (the flow itself lives 600 s).
        let browser = app.client();
        let back = idp.to_callback(&app, &browser, &erin(), "").await;
        app.advance_clock(120);
        refused_with(&browser.get(&back).send().await.unwrap(), "invalid_id_token");
        assert_eq!(app.check_session(&browser).await.status(), StatusCode::UNAUTHORIZED);
    }
}

backend_test! {
    async fn a_token_signed_by_an_unpublished_key_is_refused() {
        let Some((idp, app)) = spawn_oidc(&[], None).await else { return };
        let Idp::Oidc(provider) = &idp else { unreachable!() };
        provider.hide_signing_key(true).await;
        let browser = app.client();
        refused_with(&idp.sign_in(&app, &browser, &erin()).await, "invalid_id_token");
        assert_eq!(app.check_session(&browser).await.status(), StatusCode::UNAUTHORIZED);

        // Published again: the app fetches the keys again and takes it.
        provider.hide_signing_key(false).await;
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &erin()).await, "/");
    }
}

backend_test! {
    async fn a_rotated_key_is_fetched_when_a_token_names_it() {
        let Some((idp, app)) = spawn_oidc(&[], None).await else { return };
        let Idp::Oidc(provider) = &idp else { unreachable!() };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &erin()).await, "/");
        provider.rotate_keys().await;
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &erin()).await, "/");
        assert_eq!(app.check_session(&browser).await.status(), StatusCode::OK);
    }
}

backend_test! {
    async fn an_issuer_that_names_itself_otherwise_is_refused() {
        // The provider, configured by another name for its host: its
        // discovery document names its real issuer, which must be the one
        // configured, or tokens it signs could pass for another issuer's.
        let Some(provider) = OidcProvider::start().await else { return };
        let port = free_port().to_string();
        let callback = format!("http://127.0.0.1:{port}/auth/{CORP}/callback");
        let (client_id, secret) = provider.register_client(&callback, None).await;
        let elsewhere = provider.issuer().replace("127.0.0.1", "localhost");
        let app = spawn_app_with(&[
            ("PORT", port.as_str()),
            ("OIDC_PROVIDERS", CORP),
            ("OIDC_CORP_ISSUER", elsewhere.as_str()),
            ("OIDC_CORP_CLIENT_ID", client_id.as_str()),
            ("OIDC_CORP_CLIENT_SECRET", secret.as_str()),
        ])
        .await;
        // The provider answers at that name too.
        let discovery = format!("{elsewhere}/.well-known/openid-configuration");
        assert_eq!(reqwest::get(&discovery).await.unwrap().status(), StatusCode::OK);
        let browser = app.client();
        let start = app.get(&browser, &format!("/auth/{CORP}/start")).await;
        refused_with(&start, "provider_error");
    }
}
