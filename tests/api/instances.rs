//! Several instances on one database behave as one server: sessions,
//! meters and lockouts made on one hold on all, under concurrency.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::db::{add_posts, count};
use crate::support::{spawn_app, spawn_app_with_user, tally, PASSWORD};

backend_test! {
async fn a_session_made_on_one_instance_works_on_the_other() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    let client = a.logged_in_client("Alice").await;

    let me = b.check_session(&client).await;

    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["username"], "Alice");
}
}

backend_test! {
async fn logout_on_one_instance_revokes_on_the_other() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    let client = a.logged_in_client("Alice").await;
    let cookie = crate::support::session_cookie(&a.login(&client, "Alice", PASSWORD).await);

    a.logout(&client).await;

    let replay = b.get_with_cookie("/check_session", &cookie).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
}
}

backend_test! {
async fn the_session_list_on_one_instance_shows_logins_made_on_the_other() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    let laptop = a.logged_in_client("Alice").await;
    let phone = a.client();
    a.login(&phone, "Alice", PASSWORD).await;

    let list: Value = b.sessions(&laptop).await.json().await.unwrap();

    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
}
}

backend_test! {
async fn parallel_reads_spread_over_two_instances_unlock_exactly_free_reads() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    add_posts(&a);
    let client = a.logged_in_client("Alice").await;
    let urls: Vec<String> = (1..=20)
        .map(|id| {
            let instance = if id % 2 == 0 { &a } else { &b };
            instance.url(&format!("/blog/{id}"))
        })
        .collect();

    let statuses = join_all(urls.iter().map(|url| {
        let client = client.clone();
        async move { client.get(url).send().await.unwrap().status() }
    }))
    .await;

    assert_eq!(
        tally(&statuses, StatusCode::OK, StatusCode::PAYMENT_REQUIRED),
        (5, 15),
        "{statuses:?}"
    );
    assert_eq!(count(&a, "SELECT COUNT(*) AS n FROM unlocks"), 5);
}
}

backend_test! {
async fn parallel_reads_of_one_new_post_over_two_instances_use_one_read() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    let client = a.logged_in_client("Alice").await;

    let statuses = join_all((0..20).map(|i| {
        let client = client.clone();
        let url = if i % 2 == 0 { a.url("/blog/4") } else { b.url("/blog/4") };
        async move { client.get(url).send().await.unwrap().status() }
    }))
    .await;

    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");
    assert_eq!(count(&a, "SELECT COUNT(*) AS n FROM unlocks"), 1);
}
}

backend_test! {
async fn ten_registrations_of_one_name_over_two_instances_give_one_account() {
    let a = spawn_app().await;
    let b = a.sibling().await;
    let names = ["dave", "DAVE", "Dave", "dAve", "daVe", "davE", "DAve", "daVE", "DaVe", "dAvE"];

    let statuses = join_all(names.iter().enumerate().map(|(i, name)| {
        let instance = if i % 2 == 0 { &a } else { &b };
        async move {
            instance.register(&instance.client(), name).await.status()
        }
    }))
    .await;

    assert_eq!(
        tally(&statuses, StatusCode::CREATED, StatusCode::CONFLICT),
        (1, 9),
        "{statuses:?}"
    );
    assert_eq!(count(&a, "SELECT COUNT(*) AS n FROM users"), 1);
}
}

backend_test! {
async fn a_lockout_reached_on_one_instance_holds_on_the_other() {
    let (a, _) = spawn_app_with_user(&[("LOGIN_MAX_FAILURES", "3")], "Alice").await;
    let b = a.sibling().await;
    for _ in 0..3 {
        a.login(&a.client(), "Alice", "wrong password").await;
    }

    let response = b.login(&b.client(), "Alice", PASSWORD).await;

    crate::support::assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
}

backend_test! {
async fn failures_on_two_instances_add_up_to_one_lockout() {
    let (a, _) = spawn_app_with_user(&[("LOGIN_MAX_FAILURES", "4")], "Alice").await;
    let b = a.sibling().await;

    let attempts = join_all((0..4).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        async move {
            let wrong = format!("wrong {i}");
            instance.login(&instance.client(), "Alice", &wrong).await.status()
        }
    }))
    .await;
    assert!(attempts.iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{attempts:?}");

    for instance in [&a, &b] {
        let response = instance.login(&instance.client(), "Alice", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }
}
}
