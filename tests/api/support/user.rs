//! A test user in one call: [`TestApp::user`] names one, its options (an
//! email address, stay signed in, the client IP a trusted proxy reports)
//! are set on the way, and `register` returns a browser logged in as them.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use super::{spawn_app_with, TestApp, PASSWORD};

/// A user about to register or log in; see [`TestApp::user`].
#[must_use]
pub struct NewUser<'a> {
    app: &'a TestApp,
    username: &'a str,
    /// `Some(None)` sends `"email": null`, as a form with the field empty.
    email: Option<Option<&'a str>>,
    stay_signed_in: Option<bool>,
    forwarded_for: Option<&'a str>,
}

impl TestApp {
    /// A user named `username`, with [`PASSWORD`].
    pub fn user<'a>(&'a self, username: &'a str) -> NewUser<'a> {
        NewUser {
            app: self,
            username,
            email: None,
            stay_signed_in: None,
            forwarded_for: None,
        }
    }

    /// Registers `username` in a new client and returns it, logged in.
    pub async fn logged_in_client(&self, username: &str) -> Client {
        self.user(username).register().await
    }
}

impl<'a> NewUser<'a> {
    /// The `email` sent with the registration (`None` sends `null`).
    pub fn email(mut self, email: Option<&'a str>) -> Self {
        self.email = Some(email);
        self
    }

    /// The `stay_signed_in` sent with the registration or login.
    pub fn stay_signed_in(mut self, stay: bool) -> Self {
        self.stay_signed_in = Some(stay);
        self
    }

    /// Sends `X-Forwarded-For: ip`: the client IP, where the app trusts
    /// 127.0.0.1 as a proxy.
    pub fn forwarded_for(mut self, ip: &'a str) -> Self {
        self.forwarded_for = Some(ip);
        self
    }

    /// Registers in a new browser and returns it, logged in.
    pub async fn register(self) -> Client {
        let client = self.app.client();
        let response = self.register_in(&client).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        client
    }

    /// Sends the registration from `client`, whatever the answer.
    pub async fn register_in(&self, client: &Client) -> Response {
        let mut body = self.credentials();
        if let Some(email) = self.email {
            body["email"] = json!(email);
        }
        self.send(client, "/register", &body).await
    }

    /// Sends a login from `client` with [`PASSWORD`], whatever the answer.
    pub async fn log_in(&self, client: &Client) -> Response {
        self.send(client, "/login", &self.credentials()).await
    }

    fn credentials(&self) -> Value {
        let mut body = json!({"username": self.username, "password": PASSWORD});
        if let Some(stay) = self.stay_signed_in {
            body["stay_signed_in"] = json!(stay);
        }
        body
    }

    async fn send(&self, client: &Client, path: &str, body: &Value) -> Response {
        let mut request = client.post(self.app.url(path)).json(body);
        if let Some(ip) = self.forwarded_for {
            request = request.header("X-Forwarded-For", ip);
        }
        request.send().await.expect("request sent")
    }
}

/// A fresh app with `username` logged in: the opening of most tests.
pub async fn spawn_app_and_user(username: &str) -> (TestApp, Client) {
    spawn_app_with_user(&[], username).await
}

/// [`spawn_app_and_user`] with some settings overridden.
pub async fn spawn_app_with_user(vars: &[(&str, &str)], username: &str) -> (TestApp, Client) {
    let app = spawn_app_with(vars).await;
    let client = app.logged_in_client(username).await;
    (app, client)
}
