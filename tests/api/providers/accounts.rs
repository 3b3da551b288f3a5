//! Which account a provider's sign-in lands on, in the contract's order:
//! the one linked to the identity; the one holding the provider's address
//! verified, when both sides verified it; else a new account without a
//! password. And linking, which only a signed-in owner's request starts
//! (`POST /account/identities`). Each test runs with the real OpenID
//! provider and with the GitHub stand-in.

use reqwest::StatusCode;
use serde_json::json;

use super::{account, identities, lands_at, last_event, refused_with, spawn, Person};
use crate::each_provider;
use crate::support::db::{count, execute};
use crate::support::mail::{event_kinds, mailed_message, verified_user};
use crate::support::{assert_error, assert_invalid_field, PASSWORD};
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
            let alice = verified_user(&app, "alice", "alice@example.com").await;
            let id = account(&app, &alice).await["id"].clone();

            let person = Person::new("2001", "someone", "ALICE@example.com");
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &person).await, "/");
            let joined = account(&app, &browser).await;
            assert_eq!(joined["id"], id, "{kind:?}");
            assert_eq!(joined["has_password"], true);
            let linked = last_event(&app, &browser, "identity_linked").await;
            assert_eq!(linked["detail"]["provider"], idp.name());
            // Whoever registered the address first is signed out, and the
            // address is told.
            assert_eq!(app.check_session(&alice).await.status(), StatusCode::UNAUTHORIZED);
            let notice = mailed_message(&app, 2).await;
            assert!(notice.contains("signed in to your account"), "{notice}");
        });
    }
}

backend_test! {
    async fn a_look_alike_address_joins_nothing() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let kate = verified_user(&app, "kate", "kate@example.com").await;
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
            let alice = verified_user(&app, "alice", "alice@example.com").await;
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
    async fn a_link_asked_for_with_the_password_links_the_identity_to_the_caller() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let alice = verified_user(&app, "alice", "alice@example.com").await;
            let id = account(&app, &alice).await["id"].clone();
            // An address nobody here holds, so only the flow's own account
            // can be the one it lands on.
            let person = Person::new("4001", "ally", "ally@example.org");
            let asked = idp
                .ask_to_link(&app, &alice, json!({"password": PASSWORD, "return_to": "/account"}))
                .await;
            let answer = idp.link_through(&app, &alice, &person, asked).await;
            lands_at(&answer, "/account");
            // The same session goes on.
            assert_eq!(account(&app, &alice).await["id"], id, "{kind:?}");
            assert_eq!(identities(&app, &alice).await.len(), 1);
            let linked = last_event(&app, &alice, "identity_linked").await;
            assert_eq!(linked["detail"]["provider"], idp.name());
            // Its verified address is told.
            let notice = mailed_message(&app, 2).await;
            assert!(notice.contains("A sign-in provider was linked"), "{notice}");

            // And from now on the provider signs in to Alice's account.
            let elsewhere = app.client();
            lands_at(&idp.sign_in(&app, &elsewhere, &person).await, "/");
            assert_eq!(account(&app, &elsewhere).await["id"], id);
        });
    }
}

backend_test! {
    async fn a_start_never_links_whoever_calls_it() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            // A stolen cookie: its holder starts a sign-in with their own
            // provider account, which must not become a way into Alice's.
            let alice = app.logged_in_client("alice").await;
            let id = account(&app, &alice).await["id"].clone();
            let thief = Person::new("4101", "thief", "thief@example.org");
            lands_at(&idp.sign_in(&app, &alice, &thief).await, "/");
            let landed = account(&app, &alice).await;
            assert_ne!(landed["id"], id, "{kind:?}: the start linked");
            assert_eq!(landed["username"], "thief");
            assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM identities"), 1);
            let alice_again = app.client();
            assert_eq!(app.login(&alice_again, "alice", PASSWORD).await.status(), StatusCode::OK);
            assert!(identities(&app, &alice_again).await.is_empty());
            // The session the browser held was replaced, as any sign-in
            // replaces it: only the one just opened is Alice's.
            let sessions = format!("SELECT COUNT(*) AS n FROM sessions WHERE user_id = {id}");
            assert_eq!(count(&app, &sessions), 1);
        });
    }
}

backend_test! {
    async fn a_link_needs_the_password_and_the_session_that_asked() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let alice = app.logged_in_client("alice").await;
            let missing = idp.ask_to_link(&app, &alice, json!({})).await;
            assert_invalid_field(missing, "password").await;
            let wrong = idp.ask_to_link(&app, &alice, json!({"password": "not hers"})).await;
            assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
            let events = event_kinds(&app, &alice).await;
            assert!(events.contains(&"login_failed".to_owned()), "{events:?}");
            let body = json!({"provider": "nobody", "password": PASSWORD});
            let unknown = app.post_json(&alice, "/account/identities", &body).await;
            assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;

            // Asked for, then the session ends before the provider sends
            // the browser back: nothing is linked.
            let person = Person::new("4201", "ally", "ally@example.org");
            let asked = idp.ask_to_link(&app, &alice, json!({"password": PASSWORD})).await;
            assert_eq!(app.logout(&alice).await.status(), StatusCode::NO_CONTENT);
            refused_with(&idp.link_through(&app, &alice, &person, asked).await, "invalid_state");
            assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM identities"), 0, "{kind:?}");
        });
    }
}

backend_test! {
    async fn a_link_to_an_identity_another_account_holds_changes_nothing() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let person = Person::new("4301", "bob", "bob@example.org");
            let bob = app.client();
            lands_at(&idp.sign_in(&app, &bob, &person).await, "/");
            let alice = app.logged_in_client("alice").await;
            refused_with(&idp.link(&app, &alice, &person).await, "identity_taken");
            assert!(identities(&app, &alice).await.is_empty(), "{kind:?}");
            assert_eq!(identities(&app, &bob).await.len(), 1);
            // Alice's session goes on.
            assert_eq!(app.check_session(&alice).await.status(), StatusCode::OK);
        });
    }
}

backend_test! {
    async fn a_disabled_account_is_refused_and_nothing_changes() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let person = Person::new("5001", "carol", "carol@example.com");
            let browser = app.client();
            lands_at(&idp.sign_in(&app, &browser, &person).await, "/");
            execute(&app, "UPDATE users SET disabled = TRUE WHERE username_key = 'carol'");
            let again = app.client();
            refused_with(&idp.sign_in(&app, &again, &person).await, "account_disabled");
            assert_eq!(app.check_session(&again).await.status(), StatusCode::UNAUTHORIZED);

            // Joined by its verified address, refused: the identity the
            // refused sign-in would have linked is not linked.
            let dora = verified_user(&app, "dora", "dora@example.com").await;
            let dora_id = account(&app, &dora).await["id"].clone();
            execute(&app, "UPDATE users SET disabled = TRUE WHERE username_key = 'dora'");
            let claims_dora = Person::new("5002", "dora-at-idp", "dora@example.com");
            refused_with(&idp.sign_in(&app, &app.client(), &claims_dora).await, "account_disabled");
            let dora_identities =
                count(&app, &format!("SELECT COUNT(*) AS n FROM identities WHERE user_id = {dora_id}"));
            assert_eq!(dora_identities, 0, "{kind:?}: a refused callback linked");
            let events = count(
                &app,
                &format!("SELECT COUNT(*) AS n FROM events WHERE user_id = {dora_id} AND kind = 'identity_linked'"),
            );
            assert_eq!(events, 0);
        });
    }
}

backend_test! {
    async fn an_authenticator_app_still_asks_for_its_code() {
        each_provider!(kind, {
            let Some((idp, app)) = spawn(kind, &[]).await else { continue };
            let alice = enrolled(&app, "alice").await;
            let person = Person::new("6001", "alice-elsewhere", "a6@example.org");
            lands_at(&idp.link(&app, &alice.client, &person).await, "/");
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
