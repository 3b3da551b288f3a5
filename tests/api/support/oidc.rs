//! A real OpenID Connect provider on loopback for the sign-in tests: the
//! certified `oidc-provider` package from npm, run by Node from
//! `tests/oidc/provider.mjs`, one process per test on a free port, killed
//! when dropped. A fake would answer what tollgate expects; this one holds
//! tollgate to what a provider really does: discovery, open client
//! registration, its own login form and cookies, PKCE, nonces, ID tokens
//! signed with RS256 keys it publishes and can rotate.
//!
//! Each test registers a client of its own ([`OidcProvider::register_client`]),
//! names the accounts it signs in as ([`OidcProvider::set_account`]), and
//! plays the user at the provider ([`OidcProvider::authorize`]) with the same
//! reqwest client it uses for tollgate, as one browser holds both sites'
//! cookies. The jar keys cookies by host, not port, and both sites are
//! 127.0.0.1; their names differ (the provider's start with `_`), so they
//! do not meet.
//!
//! Where Node is missing, or `tests/oidc/node_modules` is and `npm ci`
//! cannot bring it, the tests that need a provider report themselves
//! skipped, like the mail ones without `aiosmtpd`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

/// How many responses a sign-in at the provider may take before the test
/// gives up on it: four (the authorization request, the login form, its
/// submission, the resumed authorization), six when the browser was signed
/// in there as someone else (the provider ends that session first).
const MAX_STEPS: usize = 10;

/// The password typed into the login form; the provider checks none.
const PASSWORD: &str = "any password";

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

/// Whether Node and the provider's packages are here, installing the
/// packages (`npm ci`, from the lock file) the first time a test asks in
/// this process when they are not; if not, says the test is skipped.
fn available() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let ready = READY.get_or_init(|| {
        let node = Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !node.is_ok_and(|s| s.success()) {
            return Err("needs Node.js for a real OpenID Connect provider".into());
        }
        let dir = folder();
        if dir
            .join("node_modules/oidc-provider/package.json")
            .is_file()
        {
            return Ok(());
        }
        let installed = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status();
        match installed {
            Ok(s) if s.success() => Ok(()),
            _ => Err(format!(
                "needs oidc-provider; install it with `npm ci --prefix {}`",
                dir.display()
            )),
        }
    });
    if let Err(why) = ready {
        // CI installs the provider first (.ci/run): there a missing one is
        // a broken set-up, never a quiet pass.
        assert!(
            std::env::var_os("CI").is_none(),
            "the OpenID Connect tests {why}"
        );
        eprintln!("skipped: {why}");
    }
    ready.is_ok()
}

pub struct OidcProvider {
    /// Its stdin stays open with it: the provider exits when that closes,
    /// so it does not outlive a test process that dies without dropping.
    child: Child,
    port: u16,
    /// What the provider printed to stderr, shown when a step fails.
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl OidcProvider {
    /// Starts a provider of its own on a free port, or `None` (reported
    /// skipped) when Node or the provider's packages cannot be had.
    pub async fn start() -> Option<OidcProvider> {
        if !tokio::task::spawn_blocking(available)
            .await
            .expect("the check for Node")
        {
            return None;
        }
        // A start that fails is tried again: on a machine busy with the
        // rest of the suite, Node now and then does not get to listen.
        let mut failures = Vec::new();
        let (child, port, log) = loop {
            match Self::spawn().await {
                Ok(started) => break started,
                Err(why) if failures.len() < 2 => failures.push(why),
                Err(why) => {
                    failures.push(why);
                    panic!(
                        "the OpenID Connect provider did not start:\n{}",
                        failures.join("\n---\n")
                    );
                }
            }
        };
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("a client");
        Some(OidcProvider {
            child,
            port,
            log,
            http,
        })
    }

    /// One start of the provider: its process, port and stderr, or what it
    /// printed before it failed to listen.
    #[allow(clippy::type_complexity)]
    async fn spawn() -> Result<(Child, u16, Arc<Mutex<String>>), String> {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(folder())
            .env("PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("its stderr");
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stderr.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().expect("its stdout");
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            // Read to the end, so that the provider never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .strip_prefix("listening ")
                    .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(port);
                    }
                }
            }
        });
        // Node loads the provider's few hundred modules before it listens:
        // about a second alone, far longer when every core is busy with
        // the rest of the suite. The bound only turns a provider that never
        // starts into a failure with its log.
        let port = match tokio::time::timeout(Duration::from_secs(120), port_rx).await {
            Ok(Ok(port)) => port,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let why = log.lock().unwrap().clone();
                return Err(why);
            }
        };
        Ok((child, port, log))
    }

    /// `http://127.0.0.1:{port}`, also the base of every endpoint (its
    /// discovery document is at `/.well-known/openid-configuration`).
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Registers a client (Dynamic Client Registration) that may redirect
    /// to `redirect_uri` and authenticates at the token endpoint with
    /// HTTP Basic; `Some(ttl)` gives its ID tokens that life in seconds
    /// (else an hour). Returns `(client_id, client_secret)`.
    pub async fn register_client(
        &self,
        redirect_uri: &str,
        id_token_ttl: Option<u64>,
    ) -> (String, String) {
        let mut metadata = json!({
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        });
        if let Some(ttl) = id_token_ttl {
            metadata["tollgate_id_token_ttl"] = json!(ttl);
        }
        let response = self
            .http
            .post(format!("{}/reg", self.issuer()))
            .json(&metadata)
            .send()
            .await
            .expect("the provider answers");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::CREATED,
            "registration refused: {body}\n{}",
            self.log()
        );
        let field = |name: &str| {
            body[name]
                .as_str()
                .unwrap_or_else(|| panic!("no {name} in {body}"))
                .to_owned()
        };
        (field("client_id"), field("client_secret"))
    }

    /// Sets the account `sub`'s claims, an object with any of `email`,
    /// `email_verified`, `preferred_username`, `name`; a client sees those
    /// its granted scopes cover. An account never set has only its `sub`.
    pub async fn set_account(&self, sub: &str, claims: Value) {
        let mut body = claims;
        assert!(body.is_object(), "claims are an object, not {body}");
        body["sub"] = json!(sub);
        self.post_test("/test/accounts", &body).await;
    }

    /// Plays the user at the provider: from `authorization_url` (where a
    /// client sent the browser), follows the provider's redirects one by
    /// one with `browser` (a client with a cookie store and
    /// `redirect::Policy::none()`), signs in on the provider's login form
    /// as `sub`, and returns the URL the provider then sends the browser to
    /// that starts with `redirect_uri_prefix` (the client's callback, with
    /// `code` and `state`, or with `error`), without requesting it.
    ///
    /// The provider asks for a login on every authorization, so `sub` is
    /// who signs in even when `browser` signed in there before.
    pub async fn authorize(
        &self,
        browser: &reqwest::Client,
        authorization_url: &str,
        sub: &str,
        redirect_uri_prefix: &str,
    ) -> String {
        let mut url = authorization_url.to_owned();
        let mut form: Option<Vec<(String, String)>> = None;
        for _ in 0..MAX_STEPS {
            if url.starts_with(redirect_uri_prefix) {
                return url;
            }
            let request = match form.take() {
                Some(fields) => browser.post(&url).form(&fields),
                None => browser.get(&url),
            };
            let response = request.send().await.unwrap_or_else(|e| {
                panic!("the provider did not answer {url}: {e}\n{}", self.log())
            });
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .unwrap_or_else(|| panic!("a {status} from {url} without a Location"));
                url = response
                    .url()
                    .join(location)
                    .unwrap_or_else(|e| panic!("Location {location:?} from {url}: {e}"))
                    .to_string();
                continue;
            }
            let page = response.text().await.unwrap_or_default();
            let Some((action, fields)) = (status == StatusCode::OK)
                .then(|| next_form(&page, sub))
                .flatten()
            else {
                panic!(
                    "{status} from {url}, neither a redirect nor a form to send:\n{page}\n{}",
                    self.log()
                )
            };
            url = reqwest::Url::parse(&url)
                .and_then(|here| here.join(&action))
                .unwrap_or_else(|e| panic!("form action {action:?}: {e}"))
                .to_string();
            assert!(
                !url.starts_with(redirect_uri_prefix),
                "the provider answers the client with a form post ({url}), not a redirect"
            );
            form = Some(fields);
        }
        panic!(
            "no redirect to {redirect_uri_prefix} after {MAX_STEPS} steps (last: {url})\n{}",
            self.log()
        )
    }

    /// From now on, tokens are signed by a new RS256 key with a new `kid`,
    /// listed first in the JWKS; the keys before it stay listed after it.
    pub async fn rotate_keys(&self) {
        self.post_test("/test/rotate-keys", &json!({})).await;
    }

    /// While `hidden`, the JWKS leaves out the key that signs tokens, as if
    /// a token came signed by a key the issuer does not publish.
    pub async fn hide_signing_key(&self, hidden: bool) {
        self.post_test("/test/hide-signing-key", &json!({ "hidden": hidden }))
            .await;
    }

    async fn post_test(&self, path: &str, body: &Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.issuer()))
            .json(body)
            .send()
            .await
            .expect("the provider answers");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "{path}: {text}\n{}",
            self.log()
        );
    }

    fn log(&self) -> String {
        format!("provider's stderr:\n{}", self.log.lock().unwrap())
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The form a user (or the page's script) sends next from an oidc-provider
/// page: its `action` and its fields. Either the login form, filled in as
/// `login` types it (the hidden fields as they are, the login name, a
/// password), or a form the page submits by itself on load: the provider
/// ends its session of one account that way before signing in another.
/// `None` for a page with neither.
fn next_form(page: &str, login: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = page.find("<form")?;
    let end = start + page[start..].find("</form>")?;
    let form = &page[start..end];
    let action = attribute(&form[..form.find('>')?], "action")?;
    let submits_itself = page.contains("document.forms[0].submit()");
    let mut fields = Vec::new();
    let mut has_login = false;
    for input in form.split("<input").skip(1) {
        let tag = &input[..input.find('>').unwrap_or(input.len())];
        let Some(name) = attribute(tag, "name") else {
            continue;
        };
        let value = match attribute(tag, "type").as_deref() {
            Some("hidden") => attribute(tag, "value").unwrap_or_default(),
            Some("password") => PASSWORD.to_owned(),
            _ if name == "login" => {
                has_login = true;
                login.to_owned()
            }
            _ => continue,
        };
        fields.push((name, value));
    }
    (has_login || submits_itself).then_some((action, fields))
}

/// The value of `name="…"` in an HTML tag, its entities decoded.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    let value = &tag[start..start + tag[start..].find('"')?];
    Some(
        value
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}
