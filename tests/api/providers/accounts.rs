//! Which account a provider's sign-in lands on, in the contract's order:
//! the one linked to the identity; the caller's, when the flow began
//! signed in; the one holding the provider's address verified, when both
//! sides verified it; else a new account without a password. Each test
//! runs with the real OpenID provider and with the GitHub stand-in.

use reqwest::StatusCode;
use serde_json::json;

use super::{account, identities, lands_at, last_event, refused_with, spawn, Person};
use crate::each_provider;
use crate::support::db::{count, execute};
use crate::support::mail::{event_kinds, mailed_token};
use crate::two_factor::{code, enrolled, second_step, step_start};

backend_test! {
    async fn a_first_sign_in_makes_an_account_and_the_next_finds_it() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let person = Person::new("1001", "octo.cat", "Octo@Example.com");
            let browser = app.client();
            let answer = idp.sign_in(&app, &browser, &person).await;
            lands_at(&answer, "/");
            let made = account(&app, &browser).await;
            assert_eq!(made["username"], "octo.cat", "{kind:?}");
            assert_eq!(made["email"], "Octo@Example.com");
            assert_eq!(made["email_verified"], true);
            assert_eq!(made["has_password"], false);
            let linked = identities(&app, &browser).await;
            assert_eq!(linked.len(), 1);
            assert_eq!(linked[0]["provider"], idp.name());
            assert_eq!(linked[0]["email"], "Octo@Example.com");
            let registered = last_event(&app, &browser, "registered").await;
            assert_eq!(registered["detail"]["method"], format!("oidc:{}", idp.name()));
            // The session it opens is part of the registration: one event.
            assert_eq!(event_kinds(&app, &browser).await, ["registered"]);

            // Returning, in another browser: the same account, a login.
            let again = app.client();
            lands_at(&idp.sign_in(&app, &again, &person).await, "/");
            assert_eq!(account(&app, &again).await["id"], made["id"]);
            let login = last_event(&app, &again, "login").await;
            assert_eq!(login["detail"]["method"], format!("oidc:{}", idp.name()));

            // The name was taken: the next person who wants it gets another.
            let namesake = Person::new("1002", "Octo.Cat", "other@example.com");
            let third = app.client();
            lands_at(&idp.sign_in(&app, &third, &namesake).await, "/");
            assert_eq!(account(&app, &third).await["username"], "Octo.Cat-2");
        });
    }
}

backend_test! {
    async fn a_verified_address_on_both_sides_joins_that_account() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let alice = app.user("alice").email(Some("alice@example.com")).register().await;
            let token = mailed_token(&app, "/verify-email", 1).await;
            assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
            let id = account(&app, &alice).await["id"].clone();

            let person = Person::new("2001", "someone", "ALICE@example.com");
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &person).await, "/");
            let joined = account(&app, &browser).await;
            assert_eq!(joined["id"], id, "{kind:?}");
            assert_eq!(joined["has_password"], true);
            let linked = last_event(&app, &browser, "identity_linked").await;
            assert_eq!(linked["detail"]["provider"], idp.name());
        });
    }
}

backend_test! {
    async fn a_look_alike_address_joins_nothing() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let kate = app.user("kate").email(Some("kate@example.com")).register().await;
            let token = mailed_token(&app, "/verify-email", 1).await;
            assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
            let kate_id = account(&app, &kate).await["id"].clone();

            // Vouched for by the provider, and written with the Kelvin sign
            // (U+212A), which Unicode's case rules lower-case to `k`: not
            // Kate's address, so not Kate's account.
            let person = Person::new("7001", "kelvin", "\u{212A}ate@example.com");
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &person).await, "/");
            let made = account(&app, &browser).await;
            assert_ne!(made["id"], kate_id, "{kind:?}");
            assert_eq!(made["username"], "kelvin");
            assert_eq!(made["email"], "\u{212A}ate@example.com");
            assert_eq!(made["email_verified"], true);
            // Kate's account is as it was, her session too.
            assert!(identities(&app, &kate).await.is_empty());
            assert_eq!(app.check_session(&kate).await.status(), StatusCode::OK);
            assert_eq!(account(&app, &kate).await["email_verified"], true);
        });
    }
}

backend_test! {
    async fn an_unverified_address_on_either_side_joins_nothing() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            // Verified here, not at the provider.
            let alice = app.user("alice").email(Some("alice@example.com")).register().await;
            let token = mailed_token(&app, "/verify-email", 1).await;
            assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
            let alice_id = account(&app, &alice).await["id"].clone();
            let claims_alice = Person::new("3001", "alice", "alice@example.com").unverified();
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &claims_alice).await, "/");
            let other = account(&app, &browser).await;
            assert_ne!(other["id"], alice_id, "{kind:?}");
            assert_eq!(other["username"], "alice-2");
            assert_eq!(other["email_verified"], false);

            // At the provider, not here.
            let bob = app.user("bob").email(Some("bob@example.com")).register().await;
            let bob_id = account(&app, &bob).await["id"].clone();
            let claims_bob = Person::new("3002", "robert", "bob@example.com");
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &claims_bob).await, "/");
            let made = account(&app, &browser).await;
            assert_ne!(made["id"], bob_id);
            assert_eq!(made["username"], "robert");
            // Bob's account is as it was.
            assert!(identities(&app, &bob).await.is_empty());
            assert_eq!(account(&app, &bob).await["email_verified"], false);
        });
    }
}

backend_test! {
    async fn signing_in_while_signed_in_links_the_identity_to_the_caller() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let alice = app.logged_in_client("alice").await;
            let id = account(&app, &alice).await["id"].clone();
            // An address nobody here holds, so only the flow's own account
            // can be the one it lands on.
            let person = Person::new("4001", "ally", "ally@example.org");
            let answer = idp
                .sign_in_with(&app, &alice, &person, "?return_to=/account")
                .await;
            lands_at(&answer, "/account");
            // The same session goes on.
            assert_eq!(account(&app, &alice).await["id"], id, "{kind:?}");
            assert_eq!(identities(&app, &alice).await.len(), 1);
            let linked = last_event(&app, &alice, "identity_linked").await;
            assert_eq!(linked["detail"]["provider"], idp.name());

            // And from now on the provider signs in to Alice's account.
            let elsewhere = app.client();
            lands_at(&idp.sign_in(&app, &elsewhere, &person).await, "/");
            assert_eq!(account(&app, &elsewhere).await["id"], id);
        });
    }
}

backend_test! {
    async fn a_disabled_account_is_refused() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let person = Person::new("5001", "carol", "carol@example.com");
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &person).await, "/");
            execute(&app, "UPDATE users SET disabled = TRUE WHERE username_key = 'carol'");
            let again = app.client();
            refused_with(&idp.sign_in(&app, &again, &person).await, "account_disabled");
            assert_eq!(app.check_session(&again).await.status(), StatusCode::UNAUTHORIZED);
        });
    }
}

backend_test! {
    async fn an_authenticator_app_still_asks_for_its_code() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let alice = enrolled(&app, "alice").await;
            let person = Person::new("6001", "alice-elsewhere", "a6@example.org");
            lands_at(&idp.sign_in(&app, &alice.client, &person).await, "/");
            assert_eq!(identities(&app, &alice.client).await.len(), 1);

            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &person).await, "/login/two-factor");
            // Pending, not signed in.
            assert_eq!(app.check_session(&browser).await.status(), StatusCode::UNAUTHORIZED);
            step_start(&app);
            let code = code(&app, &alice.secret, 0);
            let done = second_step(&app, &browser, json!({ "code": code })).await;
            assert_eq!(done.status(), StatusCode::OK, "{kind:?}");
            assert_eq!(app.check_session(&browser).await.status(), StatusCode::OK);
            let login = last_event(&app, &browser, "login").await;
            assert_eq!(login["detail"]["method"], "totp");
        });
    }
}

backend_test! {
    async fn two_first_sign_ins_at_once_make_one_account() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let person = Person::new("1101", "twin", "twin@example.com");
            let (a, b) = (app.client(), app.client());
            let back_a = idp.to_callback(&app, &a, &person, "").await;
            let back_b = idp.to_callback(&app, &b, &person, "").await;
            let (first, second) = tokio::join!(a.get(&back_a).send(), b.get(&back_b).send());
            lands_at(&first.unwrap(), "/");
            lands_at(&second.unwrap(), "/");
            assert_eq!(account(&app, &a).await["id"], account(&app, &b).await["id"], "{kind:?}");
            assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users"), 1);
            assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM identities"), 1);
        });
    }
}
