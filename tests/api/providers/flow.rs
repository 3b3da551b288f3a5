//! The flow's own protections, whatever the provider: the state is used
//! once, within its time, by the browser that started it; redirects go
//! only into the SPA; unknown providers are `404`.

use reqwest::header::{HeaderValue, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

use super::{account, lands_at, location, refused_with, spawn, Idp, Kind, Person, APP};
use crate::each_provider;
use crate::support::assert_error;

fn someone() -> Person {
    Person::new("7001", "dora", "dora@example.com")
}

backend_test! {
    async fn a_callback_is_used_once_within_its_time_by_its_browser() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let person = someone();

            // Replayed after use.
            let browser = app.client();
            let back = idp.to_callback(&app, &browser, &person, "").await;
            lands_at(&browser.get(&back).send().await.unwrap(), "/");
            refused_with(&browser.get(&back).send().await.unwrap(), "invalid_state");

            // Taken to another browser (login CSRF): refused there, and
            // spent, so the first browser cannot use it either.
            let victim = app.client();
            let back = idp.to_callback(&app, &browser, &person, "").await;
            refused_with(&victim.get(&back).send().await.unwrap(), "invalid_state");
            assert_eq!(app.check_session(&victim).await.status(), StatusCode::UNAUTHORIZED);
            refused_with(&browser.get(&back).send().await.unwrap(), "invalid_state");

            // Back after the flow's 600 s.
            let late = app.client();
            let back = idp.to_callback(&app, &late, &person, "").await;
            app.advance_clock(601);
            refused_with(&late.get(&back).send().await.unwrap(), "invalid_state");

            // No state, or one never issued.
            let callback = idp.callback(&app);
            refused_with(&late.get(&callback).send().await.unwrap(), "invalid_state");
            let forged = format!("{callback}?code=x&state=forged");
            refused_with(&late.get(&forged).send().await.unwrap(), "invalid_state");
        });
    }
}

backend_test! {
    async fn two_tabs_can_each_finish_their_sign_in() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let browser = app.client();
            let first = idp.to_callback(&app, &browser, &someone(), "?return_to=/one").await;
            let second = idp.to_callback(&app, &browser, &someone(), "?return_to=/two").await;
            lands_at(&browser.get(&second).send().await.unwrap(), "/two");
            lands_at(&browser.get(&first).send().await.unwrap(), "/one");
        });
    }
}

backend_test! {
    async fn return_to_never_leaves_the_spa() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let browser = app.client();
            let kept = idp
                .sign_in_with(&app, &browser, &someone(), "?return_to=%2Fblog%2F3%3Fx%3D1")
                .await;
            lands_at(&kept, "/blog/3?x=1");
            for evil in [
                "https%3A%2F%2Fevil.example%2F",
                "%2F%2Fevil.example",
                "%2F%5Cevil.example",
                "%5C%5Cevil.example",
                "%40evil.example",
                "evil.example",
                "%2F%252F%252Fevil.example",
                "%2F%255Cevil.example",
                "%2Fok%0D%0ALocation%3A%20https%3A%2F%2Fevil.example",
            ] {
                let browser = app.client();
                let answer = idp
                    .sign_in_with(&app, &browser, &someone(), &format!("?return_to={evil}"))
                    .await;
                assert_eq!(location(&answer), format!("{APP}/"), "{kind:?} {evil}");
            }
        });
    }
}

backend_test! {
    async fn providers_are_listed_and_unknown_ones_are_not_found() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let client = app.client();
        let listed: Value = app.get(&client, "/auth/providers").await.json().await.unwrap();
        assert_eq!(listed, serde_json::json!({"providers": [{"name": idp.name()}]}));
        for path in ["/auth/nobody/start", "/auth/nobody/callback?state=x"] {
            assert_error(app.get(&client, path).await, StatusCode::NOT_FOUND, "not_found").await;
        }

        // The start: a navigation from the SPA's site (no Origin, cross
        // site), answered with the provider's URL and the binding cookie.
        let start = client
            .get(app.url("/auth/github/start"))
            .header("Sec-Fetch-Site", "cross-site")
            .header("Sec-Fetch-Mode", "navigate")
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), StatusCode::FOUND);
        let to = reqwest::Url::parse(&location(&start)).unwrap();
        let query: Vec<(String, String)> = to.query_pairs().into_owned().collect();
        let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(get("client_id"), Some("gh-client"));
        assert_eq!(get("redirect_uri"), Some(app.url("/auth/github/callback").as_str()));
        assert_eq!(get("code_challenge_method"), Some("S256"));
        assert_eq!(get("scope"), Some("read:user user:email"));
        assert!(get("state").is_some_and(|s| s.len() >= 43));
        let cookie: Vec<&HeaderValue> = start.headers().get_all(SET_COOKIE).iter().collect();
        assert_eq!(cookie.len(), 1, "only the binding cookie, no session");
        let cookie = cookie[0].to_str().unwrap();
        assert!(cookie.starts_with("tollgate_flow="), "{cookie}");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/auth/", "Max-Age=600"] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        drop(idp);
    }
}

backend_test! {
    async fn a_refusal_at_the_provider_signs_nobody_in() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let Idp::Github(github) = &idp else { unreachable!() };
        github.deny_next();
        let browser = app.client();
        refused_with(&idp.sign_in(&app, &browser, &someone()).await, "access_denied");
        assert_eq!(app.check_session(&browser).await.status(), StatusCode::UNAUTHORIZED);
        // Nothing was made either.
        let again = app.client();
        lands_at(&idp.sign_in(&app, &again, &someone()).await, "/");
        let made = account(&app, &again).await;
        assert_eq!(made["username"], "dora");
    }
}

backend_test! {
    async fn github_is_asked_as_its_documentation_says() {
        let Some((idp, app)) = spawn(Kind::Github, &[]).await else { return };
        let Idp::Github(github) = &idp else { unreachable!() };
        let browser = app.client();
        lands_at(&idp.sign_in(&app, &browser, &someone()).await, "/");
        let authorize = &github.requests_to("GET", "/login/oauth/authorize")[0];
        let token = &github.requests_to("POST", "/login/oauth/access_token")[0];
        // PKCE: the verifier sent for the code is the one its challenge
        // was made from.
        let verifier = token.field("code_verifier").expect("a code_verifier");
        assert_eq!(
            authorize.param("code_challenge").map(str::to_owned),
            Some(crate::support::fakes::github_stand_in::code_challenge_s256(verifier))
        );
        assert_eq!(token.field("client_secret"), Some("gh-secret"));
        assert_eq!(token.field("redirect_uri"), Some(app.url("/auth/github/callback").as_str()));
        assert!(token.accept.as_deref().is_some_and(|a| a.contains("application/json")));
        for path in ["/user", "/user/emails"] {
            let call = &github.requests_to("GET", path)[0];
            assert!(call.authorization.as_deref().is_some_and(|a| a.starts_with("Bearer ")));
            assert!(call.user_agent.as_deref().is_some_and(|a| a.starts_with("tollgate/")));
        }
        assert_eq!(github.requests().len(), 4);
    }
}
