//! Stand-ins for what the app talks to, each on loopback at a free port and
//! stopped when dropped: a mail server, Stripe's API, GitHub's sign-in and
//! user API, a TCP proxy in front of PostgreSQL, and a PostgreSQL server of
//! a test's own. The two HTTP stand-ins share one server (`stand_in`).

pub mod github_stand_in;
pub mod private_pg;
pub mod proxy;
pub mod smtp;
pub mod stand_in;
pub mod stripe_stand_in;
pub mod webhook_receiver;

/// Whether `python3` can import `module`; if not, says the test is skipped
/// and how to install what it needs (`what`, from PyPI `package`).
pub fn python_has(module: &str, what: &str, package: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: needs {what}; install it with `python3 -m pip install {package}`");
    }
    ok
}
