//! One method per endpoint of the contract, on [`TestApp`]: each sends the
//! request a browser (or Stripe, or a mail reader's click) would and returns
//! the response unread, for the test to assert on. Plus the raw forms a
//! test of malformed requests needs, and the session cookie of a response.

use reqwest::header::SET_COOKIE;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use super::{TestApp, PASSWORD};

impl TestApp {
    pub async fn post_json(&self, client: &Client, path: &str, body: &Value) -> Response {
        client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete(&self, client: &Client, path: &str) -> Response {
        client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch_json(&self, client: &Client, path: &str, body: &Value) -> Response {
        client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete_json(&self, client: &Client, path: &str, body: &Value) -> Response {
        client
            .delete(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    /// Sends `body` to `path` with the given `Content-Type` (or none at all).
    pub async fn post_raw(
        &self,
        client: &Client,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut request = client.post(self.url(path)).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().await.expect("request sent")
    }

    /// Sends a request with an arbitrary method.
    pub async fn send(&self, client: &Client, method: &str, path: &str) -> Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        client
            .request(method, self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Sends a request with an arbitrary method and, if given, a JSON body.
    pub async fn send_json(
        &self,
        client: &Client,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// `GET path` from `client` with extra request headers (`Origin`,
    /// `Sec-Fetch-Site`, `X-Forwarded-For`, a raw `Cookie`).
    pub async fn get_with(
        &self,
        client: &Client,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = client.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request sent")
    }

    /// `GET path` carrying `cookie` (a `session=…` pair) and no other, as a
    /// replayed or forged cookie would arrive.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        self.get_with(&self.bare_client(), path, &[("Cookie", cookie)])
            .await
    }

    // ------------------------------------------------------------- auth

    /// `POST /register` with [`PASSWORD`].
    pub async fn register(&self, client: &Client, username: &str) -> Response {
        self.register_with_password(client, username, PASSWORD)
            .await
    }

    /// `POST /register` with `password`.
    pub async fn register_with_password(
        &self,
        client: &Client,
        username: &str,
        password: &str,
    ) -> Response {
        self.post_json(
            client,
            "/register",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn login(&self, client: &Client, username: &str, password: &str) -> Response {
        self.post_json(
            client,
            "/login",
            &json!({"username": username, "password": password}),
        )
        .await
    }

    pub async fn logout(&self, client: &Client) -> Response {
        self.delete(client, "/logout").await
    }

    pub async fn check_session(&self, client: &Client) -> Response {
        self.get(client, "/check_session").await
    }

    // ------------------------------------------------------------- blog

    /// `GET /blog` with `query` (`""`, or `?page=2` and the like).
    pub async fn blog(&self, client: &Client, query: &str) -> Response {
        self.get(client, &format!("/blog{query}")).await
    }

    pub async fn blog_post(&self, client: &Client, id: u32) -> Response {
        self.get(client, &format!("/blog/{id}")).await
    }

    // ------------------------------------------------------------ posts
    // The authors' side of the blog.

    /// `GET /posts` with `query` (`""`, or `?status=draft` and the like).
    pub async fn posts(&self, client: &Client, query: &str) -> Response {
        self.get(client, &format!("/posts{query}")).await
    }

    pub async fn create_post(&self, client: &Client, body: &Value) -> Response {
        self.post_json(client, "/posts", body).await
    }

    /// `GET /posts/{id}`: the author's preview.
    pub async fn editable_post(&self, client: &Client, id: i64) -> Response {
        self.get(client, &format!("/posts/{id}")).await
    }

    pub async fn edit_post(&self, client: &Client, id: i64, body: &Value) -> Response {
        self.patch_json(client, &format!("/posts/{id}"), body).await
    }

    /// `POST /posts/{id}/publish` with `body` (`{}`, or `{"at": …}`).
    pub async fn publish_post(&self, client: &Client, id: i64, body: &Value) -> Response {
        self.post_json(client, &format!("/posts/{id}/publish"), body)
            .await
    }

    pub async fn unpublish_post(&self, client: &Client, id: i64) -> Response {
        self.send(client, "POST", &format!("/posts/{id}/unpublish"))
            .await
    }

    pub async fn delete_post(&self, client: &Client, id: i64) -> Response {
        self.delete(client, &format!("/posts/{id}")).await
    }

    // ---------------------------------------------------------- account

    pub async fn account(&self, client: &Client) -> Response {
        self.get(client, "/account").await
    }

    /// `GET /account`'s body, which must be there.
    pub async fn account_json(&self, client: &Client) -> Value {
        let response = self.account(client).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn delete_account(&self, client: &Client, password: &str) -> Response {
        self.delete_json(client, "/account", &json!({ "password": password }))
            .await
    }

    /// `POST /password`.
    pub async fn change_password(&self, client: &Client, current: &str, new: &str) -> Response {
        self.post_json(
            client,
            "/password",
            &json!({"current_password": current, "new_password": new}),
        )
        .await
    }

    /// `POST /email` (`None` removes the address), confirmed with `password`.
    pub async fn set_email(
        &self,
        client: &Client,
        email: Option<&str>,
        password: &str,
    ) -> Response {
        self.post_json(
            client,
            "/email",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    /// `GET /account/events` with `query`.
    pub async fn events(&self, client: &Client, query: &str) -> Response {
        self.get(client, &format!("/account/events{query}")).await
    }

    pub async fn sessions(&self, client: &Client) -> Response {
        self.get(client, "/sessions").await
    }

    /// `DELETE /sessions/{id}`.
    pub async fn end_session(&self, client: &Client, id: &str) -> Response {
        self.delete(client, &format!("/sessions/{id}")).await
    }

    /// `DELETE /sessions`: log out everywhere else.
    pub async fn end_other_sessions(&self, client: &Client) -> Response {
        self.delete(client, "/sessions").await
    }

    // --------------------------------------------------------- recovery
    // Each from a new browser, not logged in: the links arrive by mail.

    pub async fn verify_email(&self, token: &str) -> Response {
        self.post_json(&self.client(), "/email/verify", &json!({ "token": token }))
            .await
    }

    pub async fn forgot_password(&self, email: &str) -> Response {
        self.post_json(
            &self.client(),
            "/password/forgot",
            &json!({ "email": email }),
        )
        .await
    }

    pub async fn reset_password(&self, token: &str, new_password: &str) -> Response {
        self.post_json(
            &self.client(),
            "/password/reset",
            &json!({ "token": token, "new_password": new_password }),
        )
        .await
    }

    // ---------------------------------------------------------- billing

    pub async fn checkout(&self, client: &Client) -> Response {
        self.post_json(client, "/billing/checkout", &json!({}))
            .await
    }

    pub async fn portal(&self, client: &Client) -> Response {
        self.post_json(client, "/billing/portal", &json!({})).await
    }
}

/// The `Set-Cookie` header for the session cookie, if the response has one.
pub fn session_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("session="))
        .map(str::to_owned)
}

/// `session=<value>` as a `Cookie` request header, from a response.
pub fn session_cookie(response: &Response) -> String {
    let set_cookie = session_set_cookie(response).expect("a session cookie was set");
    set_cookie
        .split(';')
        .next()
        .expect("a name=value pair")
        .to_owned()
}
