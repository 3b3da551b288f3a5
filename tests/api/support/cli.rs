//! The `tollgate` binary run as an operator runs its commands: in a folder
//! of the test's, with nothing of the test's environment but `PATH`.

use std::path::Path;
use std::process::{Command, Output};

/// `tollgate`, about to run in `dir` with a clean environment.
pub fn tollgate(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn");
    command
}

/// Runs `tollgate args` in `dir` on the test app's database.
pub fn tollgate_on(dir: &Path, database_url: &str, args: &[&str]) -> Output {
    tollgate(dir)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("SESSION_SECRET", "s".repeat(64))
        .output()
        .unwrap()
}
