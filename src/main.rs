//! The `tollgate` binary: settings, logging, and the CLI — nothing else.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tollgate::accounts::members::{self, PlanChange, Source};
use tollgate::config::{self, Settings};
use tollgate::db;
use tollgate::domain::username::username_key;
use tollgate::domain::{Plan, Role};
use tollgate::error::ApiError;
use tollgate::startup::Application;

#[derive(Parser)]
#[command(
    name = "tollgate",
    version,
    about = "Session auth and a metered paywall, as a JSON API for SPAs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending migrations, then serve (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Change a user's plan, or give complimentary premium (`--until`).
    SetPlan {
        username: String,
        #[arg(value_enum)]
        plan: PlanArg,
        /// With `premium`: premium until this RFC 3339 time, a grant that
        /// no subscription event shortens (the stored plan stays as it is).
        #[arg(long, value_name = "TIME", value_parser = rfc3339_seconds)]
        until: Option<i64>,
    },
    /// Change a user's role (this is how the first admin is made).
    SetRole {
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Create or update posts from Markdown files with YAML front matter
    /// (docs/api.md, "Command line").
    Import {
        /// Files, or folders whose *.md and *.markdown files below them are
        /// read in sorted order.
        #[arg(required = true, value_name = "FILE OR FOLDER")]
        paths: Vec<PathBuf>,
    },
    /// Create members from a CSV file: tollgate's own export or Ghost's
    /// members export (docs/moving-from-ghost.md). Known addresses are
    /// skipped; a bad row is reported with its line and skipped.
    ImportMembers {
        #[arg(value_name = "FILE.CSV")]
        file: PathBuf,
        /// The list's addresses were confirmed: a row's `email_verified`
        /// makes its address verified here too.
        #[arg(long)]
        verified: bool,
        /// Check every row and print what would happen; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `--until`'s value, as Unix seconds.
fn rfc3339_seconds(text: &str) -> Result<i64, String> {
    tollgate::time::parse_seconds(text)
        .ok_or_else(|| "an RFC 3339 time such as 2027-01-31T00:00:00Z".to_owned())
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanArg {
    Free,
    Premium,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Reader,
    Author,
    Admin,
}

/// mimalloc instead of the system allocator: a request makes a few dozen
/// small allocations, and glibc's malloc/free were about 6 % of a
/// re-read's CPU (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` (mimalloc.h; the crate names
/// no constant for it).
#[cfg(target_os = "linux")]
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Lets mimalloc give memory that was freed back to the system. An arena
/// committed up front (its default where the system overcommits) is never
/// purged: whatever start-up, a bcrypt hash or a burst of requests once
/// touched stayed resident. Measured on PostgreSQL, the peak RSS through
/// check_session, a metered re-read and an anonymous listing was 67 MiB
/// with it and 30 MiB without (SQLite 54 and 31; docs/performance.md).
///
/// It must be set before the first allocation reserves the arena, which
/// happens before `main`: so it runs as a constructor, ahead of those
/// without a priority (mimalloc's own) and of the runtime's allocations.
/// Linux only: the system mimalloc takes to overcommit, and so commits
/// its arenas up front on.
#[cfg(target_os = "linux")]
extern "C" fn return_freed_memory() {
    // SAFETY: sets a number mimalloc reads when it reserves an arena; runs
    // once, while the process is loading, on its only thread. A default:
    // MIMALLOC_ARENA_EAGER_COMMIT still overrides it.
    unsafe { libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0) };
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array.00100"]
static RETURN_FREED_MEMORY: extern "C" fn() = return_freed_memory;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A missing .env is normal; a malformed one is worth stopping for.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("tollgate: cannot read .env: {e}");
            return ExitCode::FAILURE;
        }
    }
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| {
        config::setting("RUST_LOG")
            .default
            .unwrap_or_default()
            .to_owned()
    });
    // The drivers that see statements, SMTP and headers say only their
    // warnings, whatever RUST_LOG asks (logging::filter).
    let filter = match tollgate::logging::filter(&filter) {
        Ok(filter) => filter,
        Err(e) => {
            eprintln!("tollgate: invalid value for RUST_LOG: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Log lines are written by a thread of the log's own, so a request
    // never waits on stdout (logging::LogWriter); colours only for a
    // terminal, never in a log file. The thread writes what has gathered
    // at most once every 5 ms, so a busy server's requests hand it their
    // lines without waking it, and it wakes 200 times a second at most (a
    // millisecond's pause cost a metered re-read 1 % more CPU). Should stdout stall, 16 MiB of lines wait
    // for it, and the lines after them are dropped and counted.
    let (writer, _flush_on_exit) = match tollgate::logging::LogWriter::spawn(
        std::io::stdout(),
        std::time::Duration::from_millis(5),
        16 << 20,
    ) {
        Ok(writer) => writer,
        Err(e) => {
            eprintln!("tollgate: cannot start the log's thread: {e}");
            return ExitCode::FAILURE;
        }
    };
    let access_writer = writer.clone();
    // Each event on one line, whatever its fields hold (logging::OneLine).
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_timer(tollgate::logging::Timestamp)
        .fmt_fields(tollgate::logging::OneLineFields);
    if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        logs.init();
    } else {
        tollgate::logging::write_access_lines_to(access_writer);
        logs.with_ansi(false)
            .event_format(tollgate::logging::PlainLine)
            .init();
    }

    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("tollgate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => actix_web::rt::System::new().block_on(serve(settings)),
        Command::Migrate => migrate(&settings),
        Command::SetPlan {
            username,
            plan,
            until: None,
        } => set_plan(&settings, &username, plan),
        Command::SetPlan {
            username,
            plan: PlanArg::Premium,
            until: Some(until),
        } => grant_premium(&settings, &username, until),
        Command::SetPlan {
            plan: PlanArg::Free,
            until: Some(_),
            ..
        } => Err(anyhow::anyhow!(
            "--until gives premium until a time: use it with `premium`"
        )),
        Command::SetRole { username, role } => set_role(&settings, &username, role),
        Command::Import { paths } => match import(&settings, &paths) {
            // Each file that failed has said why on stderr.
            Ok(report) if report.failed > 0 => return ExitCode::FAILURE,
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        },
        Command::ImportMembers {
            file,
            verified,
            dry_run,
        } => {
            let options = tollgate::import::members::Options { verified, dry_run };
            match import_members(&settings, &file, options) {
                // Each refused row has said why on stderr.
                Ok(report) if report.refused > 0 => return ExitCode::FAILURE,
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            }
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    tracing::info!(
        address = %format!("http://{}:{}", settings.host, app.port()),
        "tollgate is serving"
    );
    app.run_until_stopped().await?;
    Ok(())
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let mut conn = db::connect_one(settings)?;
    db::migrate(&mut conn)?;
    println!("migrations are up to date");
    Ok(())
}

fn set_plan(settings: &Settings, username: &str, plan: PlanArg) -> anyhow::Result<()> {
    let plan = match plan {
        PlanArg::Free => Plan::Free,
        PlanArg::Premium => Plan::Premium,
    };
    let granted = change_user(settings, username, |conn, user, now| {
        members::change_plan(conn, now, user.id, PlanChange::Stored(plan), Source::Cli)?;
        Ok(Plan::running_grant(user.premium_until, now))
    })?;
    println!("{username} is now on the {} plan", plan.as_str());
    if let (Plan::Free, Some(until)) = (plan, granted) {
        let until = tollgate::time::format(tollgate::time::from_unix(until));
        println!("(complimentary premium keeps {username} premium until {until})");
    }
    Ok(())
}

fn grant_premium(settings: &Settings, username: &str, until: i64) -> anyhow::Result<()> {
    let now = tollgate::clock::Clock::system().now();
    if until <= now {
        anyhow::bail!("--until must be in the future");
    }
    change_user(settings, username, |conn, user, now| {
        let grant = PlanChange::Grant(Some(until));
        members::change_plan(conn, now, user.id, grant, Source::Cli)?;
        Ok(())
    })?;
    let until = tollgate::time::format(tollgate::time::from_unix(until));
    println!("{username} is premium until {until}");
    Ok(())
}

fn set_role(settings: &Settings, username: &str, role: RoleArg) -> anyhow::Result<()> {
    let role = match role {
        RoleArg::Reader => Role::Reader,
        RoleArg::Author => Role::Author,
        RoleArg::Admin => Role::Admin,
    };
    let changed = change_user(settings, username, |conn, user, now| {
        members::change_role(conn, now, user.id, role, Source::Cli)
    });
    if let Err(e) = &changed {
        if matches!(e.downcast_ref(), Some(ApiError::LastAdmin)) {
            anyhow::bail!("{username} is the last enabled admin: make another admin first");
        }
    }
    changed?;
    let article = if role == Role::Reader { "a" } else { "an" };
    println!("{username} is now {article} {}", role.as_str());
    Ok(())
}

/// Imports the files `paths` name, each in a transaction of its own, after
/// applying any pending migrations; prints a line per file and a summary.
fn import(settings: &Settings, paths: &[PathBuf]) -> anyhow::Result<tollgate::import::Report> {
    let mut conn = db::connect_one(settings)?;
    db::migrate(&mut conn)?;
    let clock = tollgate::clock::Clock::system();
    let report = tollgate::import::run(
        &mut conn,
        paths,
        &clock,
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )?;
    // Many posts at once: fresh statistics, so that the plans a running
    // server made while the posts were few are made again now
    // (`posts::keep_statistics`).
    if report.created > 0 {
        db::posts::analyze(&mut conn)?;
    }
    println!("{}", report.summary());
    Ok(report)
}

/// Imports the members the CSV file at `path` lists, after applying any
/// pending migrations; prints each refused row and a summary.
fn import_members(
    settings: &Settings,
    path: &std::path::Path,
    options: tollgate::import::members::Options,
) -> anyhow::Result<tollgate::import::members::Report> {
    let mut conn = db::connect_one(settings)?;
    db::migrate(&mut conn)?;
    let clock = tollgate::clock::Clock::system();
    let report =
        tollgate::import::members::run(&mut conn, path, options, &clock, &mut std::io::stderr())?;
    let dry = if options.dry_run {
        " (a dry run: nothing was written)"
    } else {
        ""
    };
    println!("{}{dry}", report.summary());
    Ok(report)
}

/// Runs `change` on the user named `username` (any case) in one
/// transaction with all it records, after applying any pending
/// migrations; an error naming the user when there is none. The change
/// itself is `accounts::members`', as it is for every other caller.
fn change_user<T>(
    settings: &Settings,
    username: &str,
    change: impl FnOnce(&mut db::Conn, &db::users::UserRow, i64) -> Result<T, ApiError>,
) -> anyhow::Result<T> {
    let mut conn = db::connect_one(settings)?;
    db::migrate(&mut conn)?;
    let key = username_key(username);
    let now = tollgate::clock::Clock::system().now();
    let changed = db::write_transaction(&mut conn, |conn| {
        let Some(user) = db::users::find_by_key(conn, &key)? else {
            return Ok::<_, ApiError>(None);
        };
        change(conn, &user, now).map(Some)
    })?;
    changed.ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))
}
