//! The `tollgate` binary itself: its commands and its refusal of bad settings.

use std::process::Command;

fn tollgate(dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    command
}

#[test]
fn migrate_creates_the_database_and_exits() {
    let dir = tempfile::tempdir().unwrap();

    let output = tollgate(dir.path()).arg("migrate").output().unwrap();

    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("tollgate.db").exists());
    let again = tollgate(dir.path()).arg("migrate").output().unwrap();
    assert!(again.status.success(), "migrating twice is harmless");
}

#[test]
fn a_bad_setting_stops_start_up_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();

    for (name, value) in [
        ("BCRYPT_COST", "99"),
        ("PORT", "eighty"),
        ("COOKIE_SAMESITE", "none"),
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("RUST_LOG", "tollgate=[["),
    ] {
        let output = tollgate(dir.path())
            .arg("serve")
            .env(name, value)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{name}={value} must not start");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{name}: {stderr}");
    }
    assert!(
        !dir.path().join("tollgate.db").exists(),
        "nothing was created"
    );
}

#[test]
fn migrate_names_the_database_it_cannot_reach() {
    let dir = tempfile::tempdir().unwrap();

    let output = tollgate(dir.path())
        .arg("migrate")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nothing")
        .env("DATABASE_TIMEOUT_SECONDS", "1")
        .output()
        .unwrap();

    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("DATABASE_URL"));
    assert!(
        !dir.path().join("postgres:").exists(),
        "no SQLite file was made of the URL"
    );
}

#[test]
fn set_plan_rejects_an_unknown_plan() {
    let dir = tempfile::tempdir().unwrap();

    let output = tollgate(dir.path())
        .args(["set-plan", "alice", "gold"])
        .output()
        .unwrap();

    assert!(!output.status.success());
}
