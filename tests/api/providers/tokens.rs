//! The ID token's checks, against the real OpenID provider: a token for
//! another nonce, an expired one, one signed by a key the issuer does not
//! publish; and a key rotation, which the app follows by fetching the
//! issuer's keys again.

use reqwest::StatusCode;

use super::{lands_at, location, refused_with, spawn_oidc, Idp, Person, CORP};

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
