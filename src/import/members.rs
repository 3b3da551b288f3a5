//! `tollgate import-members <file.csv> [--verified] [--dry-run]`: members
//! moved in from a CSV file — tollgate's own export, or Ghost's members
//! export — each row read by `domain::member_csv` and made a member by
//! `accounts::import`, as every account is made.
//!
//! - **A file that cannot be read changes nothing**: it is read and parsed
//!   whole (RFC 4180, UTF-8, a header with an address column) before the
//!   first member is written.
//! - **Safe to run twice**: an address some account holds (in any case of
//!   its ASCII letters, as addresses are compared) is skipped, and so is a
//!   second row of one address in the file; a second run finds every
//!   address and changes nothing.
//! - **Safe to interrupt**: rows go in [`BATCH`] at a time, each batch one
//!   write transaction (a few statements per member, not a round trip per
//!   field, and one commit per batch): all its members at once where they
//!   can be (`accounts::import::at_once`), else each in a savepoint.
//!   A crash loses at most the batch it was in, whole, and the next run
//!   carries on where that one stopped.
//! - **A bad row is refused, the others go in**: its line and what is
//!   wrong go to `errors`, and it is counted.
//! - **`--dry-run`** does all of it and rolls every batch back.

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::Path;

use crate::accounts::import::{self, Failed};
use crate::clock::Clock;
use crate::db::{self, billing, users, Conn};
use crate::domain::member_csv::{Columns, Incoming};

/// Rows per write transaction: big enough that commits cost little (on
/// SQLite each is a sync to disk), small enough that a transaction holds
/// the database's write lock only briefly while a server is running.
pub const BATCH: usize = 500;

/// What a run did, row by row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub created: usize,
    pub skipped: usize,
    pub refused: usize,
}

impl Report {
    /// `created 2, skipped 1, refused 0`.
    pub fn summary(&self) -> String {
        format!(
            "created {}, skipped {}, refused {}",
            self.created, self.skipped, self.refused
        )
    }
}

/// How the operator asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The operator vouches that the list's addresses were confirmed: an
    /// `email_verified` row's address is verified here too.
    pub verified: bool,
    /// Check everything, write nothing.
    pub dry_run: bool,
}

/// Why a file was not imported at all.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("cannot read {path}: {cause}")]
    File { path: String, cause: io::Error },
    #[error("cannot read {path} as CSV: {cause}")]
    Csv { path: String, cause: csv::Error },
    #[error("{path}: {cause}")]
    Header { path: String, cause: String },
}

/// A row of the file: the line it began on and its cells.
struct Row {
    line: u64,
    record: csv::StringRecord,
}

/// Reads the file at `path` whole, then imports its members in batches;
/// refused rows are told to `errors` (`line N: what`).
pub fn run(
    conn: &mut Conn,
    path: &Path,
    options: Options,
    clock: &Clock,
    errors: &mut impl Write,
) -> Result<Report, anyhow::Error> {
    let (columns, rows) = read(path)?;
    let mut report = Report::default();
    // Addresses and customers met earlier in this file.
    let mut addresses: HashSet<String> = HashSet::new();
    let mut customers: HashSet<String> = HashSet::new();
    for batch in rows.chunks(BATCH) {
        let now = clock.now();
        let mut said = Vec::new();
        let mut incoming = Vec::with_capacity(batch.len());
        for row in batch {
            match columns.read(&row.record, now) {
                Ok(member) => incoming.push((row.line, member)),
                Err(why) => said.push((row.line, why)),
            }
        }
        report.refused += said.len();
        let outcome = store(
            conn,
            now,
            options,
            &incoming,
            &mut addresses,
            &mut customers,
        )?;
        report.created += outcome.created;
        report.skipped += outcome.skipped;
        report.refused += outcome.refused.len();
        said.extend(outcome.refused);
        said.sort_by_key(|(line, _)| *line);
        for (line, why) in said {
            writeln!(errors, "line {line}: {why}")?;
        }
    }
    Ok(report)
}

/// The file's columns and rows, or why it cannot be read.
fn read(path: &Path) -> Result<(Columns, Vec<Row>), Unreadable> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|cause| Unreadable::File {
        path: shown.clone(),
        cause,
    })?;
    let csv_error = |cause| Unreadable::Csv {
        path: shown.clone(),
        cause,
    };
    // Rows shorter or longer than the header are read as they are: a
    // missing cell is an empty one.
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(io::BufReader::new(file));
    let header = reader.headers().map_err(csv_error)?.clone();
    let columns = Columns::find(header.iter()).map_err(|cause| Unreadable::Header {
        path: shown.clone(),
        cause,
    })?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        // A blank line between rows is no member.
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        let line = record.position().map_or(0, csv::Position::line);
        rows.push(Row { line, record });
    }
    Ok((columns, rows))
}

/// What a batch came to.
#[derive(Default)]
struct Stored {
    created: usize,
    skipped: usize,
    refused: Vec<(u64, String)>,
}

/// Stores a batch's members in one write transaction (rolled back on a dry
/// run): each address not held here nor met before in the file, each in a
/// savepoint.
fn store(
    conn: &mut Conn,
    now: i64,
    options: Options,
    incoming: &[(u64, Incoming)],
    addresses: &mut HashSet<String>,
    customers: &mut HashSet<String>,
) -> Result<Stored, db::Error> {
    let mut stored = Stored::default();
    // What this batch adds to the file's addresses and customers, kept
    // only once the batch is through.
    let mut met_addresses = Vec::new();
    let mut met_customers = Vec::new();
    let written = db::write_transaction(conn, |conn| {
        let keys: Vec<String> = incoming.iter().map(|(_, m)| m.email.key()).collect();
        let held: HashSet<String> = users::holding_any(conn, &keys)?.into_iter().collect();
        let ids: Vec<String> = incoming
            .iter()
            .filter_map(|(_, m)| m.stripe_customer_id.clone())
            .collect();
        let linked: HashSet<String> = billing::customers_known(conn, &ids)?.into_iter().collect();
        let mut batch_addresses: HashSet<String> = HashSet::new();
        let mut batch_customers: HashSet<String> = HashSet::new();
        // The members this batch brings in: not held here, not met before.
        let mut new = Vec::with_capacity(incoming.len());
        for ((line, member), key) in incoming.iter().zip(keys) {
            if held.contains(&key) || addresses.contains(&key) || batch_addresses.contains(&key) {
                stored.skipped += 1;
                continue;
            }
            if let Some(customer) = &member.stripe_customer_id {
                let taken = linked.contains(customer)
                    || customers.contains(customer)
                    || batch_customers.contains(customer);
                if taken {
                    let why = format!("stripe_customer_id: {customer} is already another member's");
                    stored.refused.push((*line, why));
                    continue;
                }
                batch_customers.insert(customer.clone());
            }
            batch_addresses.insert(key);
            new.push((*line, member));
        }
        // All at once, or else one by one (see `accounts::import`).
        let at_once: Vec<&Incoming> = new.iter().map(|(_, member)| *member).collect();
        if !at_once.is_empty() && import::at_once(conn, now, &at_once, options.verified)?.is_some()
        {
            stored.created += new.len();
            new.clear();
        }
        if !new.is_empty() {
            batch_addresses.clear();
            batch_customers.clear();
        }
        for (line, member) in new {
            let key = member.email.key();
            match import::member(conn, now, member, options.verified) {
                Ok(_) => {
                    stored.created += 1;
                    batch_addresses.insert(key);
                    if let Some(customer) = &member.stripe_customer_id {
                        batch_customers.insert(customer.clone());
                    }
                }
                Err(Failed::Refused(why)) => stored.refused.push((line, why)),
                Err(Failed::Database(e)) => return Err(Halt::Failed(e.into())),
            }
        }
        met_addresses.extend(batch_addresses);
        met_customers.extend(batch_customers);
        if options.dry_run {
            return Err(Halt::DryRun);
        }
        Ok(())
    });
    match written {
        Ok(()) | Err(Halt::DryRun) => {}
        Err(Halt::Failed(e)) => return Err(e),
    }
    addresses.extend(met_addresses);
    customers.extend(met_customers);
    Ok(stored)
}

/// Why a batch's transaction was rolled back.
enum Halt {
    /// A dry run: everything was checked, nothing is kept.
    DryRun,
    Failed(db::Error),
}

impl From<diesel::result::Error> for Halt {
    fn from(e: diesel::result::Error) -> Self {
        Halt::Failed(e.into())
    }
}
