//! What every local stand-in for an outside service shares: an HTTP server
//! on 127.0.0.1 at a random port, one worker, that records each request
//! (method, path, query, form fields and the headers tests look at) and
//! answers it from the stand-in's own state. The Stripe and GitHub
//! stand-ins are this server with an answer of their own.

use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// One request as a stand-in received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
}

impl Recorded {
    /// The value of form field `name`, if sent once.
    pub fn field(&self, name: &str) -> Option<&str> {
        only(&self.form, name)
    }

    /// The value of query parameter `name`, if sent once.
    pub fn param(&self, name: &str) -> Option<&str> {
        only(&self.query, name)
    }

    fn of(req: &HttpRequest, body: &[u8]) -> Recorded {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Recorded {
            method: req.method().to_string(),
            path: req.path().to_owned(),
            query: serde_urlencoded::from_str(req.query_string()).unwrap_or_default(),
            form: serde_urlencoded::from_bytes(body).unwrap_or_default(),
            authorization: header("authorization"),
            idempotency_key: header("idempotency-key"),
            user_agent: header("user-agent"),
            accept: header("accept"),
        }
    }
}

fn only<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut values = pairs.iter().filter(|(k, _)| k == name);
    let (_, value) = values.next()?;
    assert!(values.next().is_none(), "{name} sent twice");
    Some(value)
}

/// How a stand-in answers a request, given its state.
pub type Answer<S> = fn(&mut S, &Recorded) -> HttpResponse;

struct Shared<S> {
    requests: Vec<Recorded>,
    state: S,
    /// Requests whose path starts with this are answered this much later
    /// (the server goes on with others meanwhile).
    slow: Option<(String, std::time::Duration)>,
}

/// A running stand-in whose state is an `S`.
pub struct StandInServer<S> {
    /// Its address, `http://127.0.0.1:{port}`.
    pub base: String,
    shared: Arc<Mutex<Shared<S>>>,
}

impl<S: Send + 'static> StandInServer<S> {
    /// Starts a stand-in with `state`, answering every request with
    /// `answer`. It stops with the test's runtime, like the app.
    pub async fn start(state: S, answer: Answer<S>) -> StandInServer<S> {
        let shared = Arc::new(Mutex::new(Shared {
            requests: Vec::new(),
            state,
            slow: None,
        }));
        let data = web::Data::from(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).default_service(web::to(
                move |shared: web::Data<Mutex<Shared<S>>>, req: HttpRequest, body: web::Bytes| {
                    let recorded = Recorded::of(&req, &body);
                    let mut shared = shared.lock().unwrap();
                    shared.requests.push(recorded.clone());
                    let answered = answer(&mut shared.state, &recorded);
                    let wait = shared
                        .slow
                        .as_ref()
                        .filter(|(prefix, _)| recorded.path.starts_with(prefix.as_str()))
                        .map(|(_, wait)| *wait);
                    async move {
                        if let Some(wait) = wait {
                            tokio::time::sleep(wait).await;
                        }
                        answered
                    }
                },
            ))
        })
        .workers(1)
        .listen(listener)
        .expect("the stand-in listens")
        .run();
        tokio::spawn(server);
        StandInServer {
            base: format!("http://127.0.0.1:{port}"),
            shared,
        }
    }

    /// Answers the requests whose path starts with `prefix` after `wait`
    /// (a slow service), others at once; `None` for none.
    pub fn slow_down(&self, slow: Option<(&str, std::time::Duration)>) {
        self.shared.lock().unwrap().slow = slow.map(|(prefix, wait)| (prefix.to_owned(), wait));
    }

    /// The stand-in's state, for a test to change or read.
    pub fn state(&self) -> StateGuard<'_, S> {
        StateGuard(self.shared.lock().unwrap())
    }

    /// Everything received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// The requests to `path` with `method`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path == path)
            .collect()
    }
}

/// The locked state of a stand-in.
pub struct StateGuard<'a, S>(MutexGuard<'a, Shared<S>>);

impl<S> std::ops::Deref for StateGuard<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.0.state
    }
}

impl<S> std::ops::DerefMut for StateGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.0.state
    }
}
