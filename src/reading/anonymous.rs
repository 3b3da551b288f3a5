//! The metered read of a browser without a session, when ANONYMOUS_READS
//! opens reading to it: the same rule as a member's (`domain::paywall`),
//! counted against the browser's `tollgate_reader` cookie (its hash:
//! `db::anonymous`), and a registration wall where a member meets the
//! paywall. Clearing cookies makes a new browser, so a network's new
//! opens are capped per day across all its browsers
//! (ANONYMOUS_READS_PER_IP_PER_DAY, in `ip_limits`), in the transaction
//! of the open itself: a refused open leaves nothing spent.
//!
//! A re-read (the post opened this month, or a `free` post) is one read
//! and no write, but for the browser's first read of a day, which insights
//! count; that read is read ahead with its chunk's other reads
//! (`db::read_ahead`), so on PostgreSQL it shares their one round trip.
//! An open is one more round trip: one statement on PostgreSQL
//! (`db::anonymous::open_pg`), one write transaction on SQLite.

use diesel::QueryResult;

use super::{made, post_named, Answered, Spend};
use crate::db::anonymous::{self, Found, Mark, OpenAsked};
use crate::db::rows::PostRow;
use crate::db::{self, insights, ip_limits, Conn};
use crate::domain::insights::Day;
use crate::domain::paywall::{decide, Decision};
use crate::domain::post::Access;
use crate::domain::{IpLimit, Meter, Month};
use crate::error::ApiError;
use crate::metrics::PaywallOutcome;
use crate::state::AppState;

/// A browser reading without a session: who it is (the hash of its reader
/// cookie, `domain::gift::browser_reader`) and the client network its
/// opens count under (`domain::network_of`).
#[derive(Clone, Debug)]
pub struct Browser {
    pub reader: String,
    pub network: String,
}

/// What opening a post came to for a browser.
enum Opened {
    /// The browser may read it; `used`: its meter after this read;
    /// `first_today`: its first read of the day, still to be counted.
    Granted {
        post: PostRow,
        used: u32,
        reread: bool,
        first_today: bool,
    },
    /// The registration wall: its month's reads (or its network's day)
    /// are used up, and this post is not among what it opened.
    Walled {
        used: u32,
    },
    /// A `premium` post: nothing spent.
    PremiumOnly {
        used: u32,
    },
    NotFound,
}

/// How many times a read decides again when the post it decided on is
/// saved before its answer is made (as `super::read`).
const DECISIONS: usize = 3;

/// The per-network cap on new anonymous opens, as an abuse limit counts it.
fn network_limit(max: u32) -> IpLimit {
    IpLimit::new("anonymous_read", max, 86_400)
}

/// Opens the post `named` (an id or a slug) for `browser`: the post with
/// the browser's meter, or `402 registration_required` past its limit,
/// `402 premium_required` for a premium post, `404` for none.
pub async fn read(
    state: &AppState,
    browser: &Browser,
    named: &str,
    spend: &Spend<'_>,
) -> Result<Answered, ApiError> {
    let post = post_named(named).ok_or(ApiError::NotFound)?;
    let now = state.clock.now();
    let month = Month::at(now);
    let limit = state.settings.anonymous_reads;
    let cap = state.settings.anonymous_reads_per_ip_per_day;
    let spends = spend.spends();
    let meter = |used| Meter::new(limit, used, month);
    for _ in 0..DECISIONS {
        let (asking, post) = (browser.clone(), post.clone());
        let asked = anonymous::read_ahead::Asked {
            reader: browser.reader.clone(),
            month,
            post: post.clone(),
        };
        // Read ahead with the other reads of its chunk: a re-read is then
        // no round trip of its own (see `db::read_ahead`).
        let lookup = db::Lookup::anonymous(asked);
        let opened =
            db::idempotent_reading_ahead(&state.pool, now, lookup, move |conn, ahead, now| {
                let found = match ahead.anonymous {
                    Some(found) => anonymous::read_ahead::found_at(found, now),
                    None => anonymous::post_and_meter(conn, &asking.reader, month, &post, now)?,
                };
                let Some(found) = found else {
                    return Ok::<_, db::Error>(Opened::NotFound);
                };
                let at = At {
                    month,
                    day: Day::of(now).0,
                    now,
                };
                open(conn, &asking, found, at, (limit, cap), spends)
            })
            .await?;
        match opened {
            Opened::Granted {
                post,
                used,
                reread,
                first_today,
            } => {
                // Saved meanwhile: decided again on the version stored now
                // (an open already made stays made).
                let Some(made) = made(state, &post).await? else {
                    continue;
                };
                if spends {
                    state.metrics.paywall(match reread {
                        true => PaywallOutcome::Reread,
                        false => PaywallOutcome::Granted,
                    });
                    if first_today {
                        count_reader(state, browser, month, now).await;
                    }
                }
                let meter = Some(meter(used));
                return Ok(Answered { made, post, meter });
            }
            Opened::Walled { used } => {
                if spends {
                    state.metrics.paywall(PaywallOutcome::Refused);
                }
                return Err(ApiError::RegistrationRequired(meter(used)));
            }
            Opened::PremiumOnly { used } => return Err(ApiError::PremiumRequired(meter(used))),
            Opened::NotFound => return Err(ApiError::NotFound),
        }
    }
    Err(ApiError::Unavailable)
}

/// When a read happens: its month, its UTC day, and the moment.
#[derive(Clone, Copy)]
struct At {
    month: Month,
    day: i32,
    now: i64,
}

/// What opening `found`'s post comes to for `browser`: decided on the
/// plain read, and only an open or a wall (for a `GET`: `spends`) writes.
/// An open decides again on what is stored as it writes: in one statement
/// on PostgreSQL, in one write transaction on SQLite.
fn open(
    conn: &mut Conn,
    browser: &Browser,
    found: Found,
    at: At,
    (limit, cap): (u32, u32),
    spends: bool,
) -> Result<Opened, db::Error> {
    let access = Access::parse(&found.post.access).unwrap_or_default();
    let first_today = spends && found.read_day != Some(at.day);
    let (post, used) = (found.post, found.used);
    match decide(access, found.unlocked, used, limit) {
        Decision::Reread | Decision::Open => {
            let reread = true;
            return Ok(Opened::Granted {
                post,
                used,
                reread,
                first_today,
            });
        }
        Decision::PremiumOnly => return Ok(Opened::PremiumOnly { used }),
        // A `HEAD` delivers nothing: it is told what a `GET` would get
        // (with the meter as it is), and nothing is written.
        Decision::Unlock if !spends => {
            let reread = false;
            return Ok(Opened::Granted {
                post,
                used,
                reread,
                first_today,
            });
        }
        Decision::Refuse if !spends => return Ok(Opened::Walled { used }),
        // Within a month a browser's `used` only grows, so a refusal read
        // without a lock cannot be wrong.
        Decision::Refuse => {
            let reader = browser.reader.as_str();
            return Ok(db::write_transaction(conn, |conn| {
                wall(conn, reader, post.id, used, at)
            })?);
        }
        Decision::Unlock => {}
    }
    let reader = browser.reader.as_str();
    let network = network_limit(cap);
    // PostgreSQL: the open in one statement (`db::anonymous::open_pg`).
    for _ in 0..=limit {
        let asked = OpenAsked {
            reader,
            month: at.month,
            post_id: post.id,
            limit,
            now: at.now,
            day: at.day,
            network: &browser.network,
            network_kind: network.kind,
            window: (network.window_start(at.now), network.window_end(at.now)),
            cap,
        };
        let Some(opened) = anonymous::open_pg(conn, asked)? else {
            break;
        };
        let used = opened.used as u32;
        if opened.was {
            let (post, reread) = (post.clone(), true);
            return Ok(Opened::Granted {
                post,
                used,
                reread,
                first_today,
            });
        }
        if let Some(slot) = opened.claimed_slot {
            let (post, used, reread, first_today) = (post.clone(), slot as u32, false, false);
            return Ok(Opened::Granted {
                post,
                used,
                reread,
                first_today,
            });
        }
        if used >= limit || opened.network_hits.is_none() {
            return Ok(db::write_transaction(conn, |conn| {
                wall(conn, reader, post.id, used, at)
            })?);
        }
        // A parallel open of this browser took the slot: ask again.
    }
    if !matches!(conn, db::DbConnection::Sqlite(_)) {
        return Err(db::Error::Unavailable);
    }
    // SQLite: in a write transaction, which holds the database's one
    // write lock from its start, deciding again on what is stored.
    // Each pass that loses its slot follows a parallel open of this
    // browser that took one, so at most `limit` passes lose.
    for _ in 0..=limit {
        let decided = db::write_transaction(conn, |conn| {
            let opened = anonymous::opened(conn, reader, at.month)?;
            let used = opened.len() as u32;
            match decide(access, opened.contains(&post.id), used, limit) {
                Decision::Unlock => {}
                Decision::Refuse => return wall(conn, reader, post.id, used, at).map(Some),
                // Opened by a parallel request of this browser meanwhile.
                _ => {
                    return Ok(Some(Opened::Granted {
                        post: post.clone(),
                        used,
                        reread: true,
                        first_today,
                    }))
                }
            }
            if !anonymous::claim(conn, reader, at.month, post.id, used + 1, at.now)? {
                return Ok(None);
            }
            // The network's new opens today, this one included: past the
            // cap the open is taken back, and the browser walled.
            if ip_limits::hit(conn, &network, &browser.network, at.now)? > cap {
                ip_limits::give_back(conn, &network, &browser.network, at.now)?;
                anonymous::unclaim(conn, reader, at.month, post.id)?;
                return wall(conn, reader, post.id, used, at).map(Some);
            }
            let counted = anonymous::mark(conn, reader, at.month, at.day, Mark::Read)?;
            if counted {
                insights::anonymous_read(conn, at.now)?;
            }
            Ok::<_, diesel::result::Error>(Some(Opened::Granted {
                post: post.clone(),
                used: used + 1,
                reread: false,
                first_today: false,
            }))
        })?;
        if let Some(opened) = decided {
            return Ok(opened);
        }
    }
    Err(db::Error::Unavailable)
}

/// The registration wall for `reader` at `post_id`: noted as the post a
/// registration that follows is credited to, and counted in insights on
/// the browser's first wall of the day.
fn wall(conn: &mut Conn, reader: &str, post_id: i64, used: u32, at: At) -> QueryResult<Opened> {
    anonymous::walled(conn, reader, post_id, at.now)?;
    if anonymous::mark(conn, reader, at.month, at.day, Mark::Walled)? {
        insights::walled(conn, at.now)?;
    }
    Ok(Opened::Walled { used })
}

/// Counts the browser's first read of the day in insights (a re-read or a
/// free post: an open counts with its own write). A failure costs
/// the count, never the reader's answer.
async fn count_reader(state: &AppState, browser: &Browser, month: Month, now: i64) {
    let reader = browser.reader.clone();
    let written = db::once(&state.pool, now, move |conn, now| {
        if anonymous::mark(conn, &reader, month, Day::of(now).0, Mark::Read)? {
            insights::anonymous_read(conn, now)?;
        }
        Ok::<_, db::Error>(())
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "an anonymous read was not counted in insights");
    }
}
