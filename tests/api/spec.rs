//! The route table, the server and `openapi.yaml` say the same thing: a
//! route the app has but the spec lacks fails, and so does the reverse.

use std::collections::BTreeSet;

use reqwest::StatusCode;

use crate::support::internals::ROUTES;
use crate::support::spawn_app_and_user;

/// (path, METHOD) pairs of `openapi.yaml`'s `paths`.
fn spec_routes() -> BTreeSet<(String, String)> {
    let spec = include_str!("../../openapi.yaml");
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut path = None;
    for line in spec.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
            path = Some(format!("/{p}"));
        } else if let Some(method) = line
            .strip_prefix("    ")
            .and_then(|l| l.strip_suffix(':'))
            .filter(|m| ["get", "post", "put", "patch", "delete", "head", "options"].contains(m))
        {
            routes.insert((
                path.clone().expect("a path before its methods"),
                method.to_uppercase(),
            ));
        }
    }
    routes
}

#[test]
fn the_spec_describes_exactly_the_routes_of_the_app() {
    let app: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(path, method)| (path.to_string(), method.to_string()))
        .collect();
    let spec = spec_routes();

    let missing_from_spec: Vec<_> = app.difference(&spec).collect();
    let missing_from_app: Vec<_> = spec.difference(&app).collect();
    assert!(
        missing_from_spec.is_empty(),
        "in the app, not in openapi.yaml: {missing_from_spec:?}"
    );
    assert!(
        missing_from_app.is_empty(),
        "in openapi.yaml, not in the app: {missing_from_app:?}"
    );
}

backend_test! {
async fn the_server_serves_exactly_the_route_table() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(path, _)| *path).collect();

    for path in paths {
        let mut expected: Vec<&str> = ROUTES
            .iter()
            .filter(|(p, _)| *p == path)
            .flat_map(|(_, method)| if *method == "GET" { vec!["GET", "HEAD"] } else { vec![*method] })
            .collect();
        expected.sort_unstable();
        let concrete = path
            .replace("{id}", "1")
            .replace("/sessions/1", "/sessions/0123456789abcdef0123456789abcdef");
        let response = client
            .request(reqwest::Method::PUT, app.url(&concrete))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        let mut allowed: Vec<String> = response.headers()["allow"]
            .to_str()
            .unwrap()
            .split(',')
            .map(|m| m.trim().to_owned())
            .collect();
        allowed.sort_unstable();
        assert_eq!(allowed, expected, "{path}");
    }

    // And each listed method is really routed (logout last: it ends the session).
    let mut routes = ROUTES.to_vec();
    routes.sort_by_key(|(path, _)| *path == "/logout");
    for (path, method) in routes {
        let concrete = path
            .replace("{id}", "1")
            .replace("/sessions/1", "/sessions/0123456789abcdef0123456789abcdef");
        let response = client
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        // Billing is off here (no STRIPE_* settings): its routes say so.
        let billing_off = path.starts_with("/billing/") && status == StatusCode::NOT_IMPLEMENTED;
        assert!(!status.is_server_error() || billing_off, "{method} {path}: {status}");
    }
}
}
