//! The metered read, in one place: from a reader, the post a path names
//! and the time to what they get ([`read`]): the post's answer with the
//! meter, or a refusal. `GET /blog/{id}` and its `HEAD` come here (a
//! browser without a session, to [`anonymous`]); a gift link's read shares
//! the answer kept for a post's version ([`made`]).
//!
//! The guard usually read the meter ahead along with the session: it
//! hands `session::lookup` a [`MeterAsk`], which decides in the lookup's
//! own job ([`Metering`]), judged by the same [`Reading`]; then only an
//! unlock (which only the write that grants it may decide) and the
//! month's first refusal (to be recorded) come to the database again.
//! What a read or refusal tells insights is written once a day, after the
//! answer is decided, and its failure never costs the reader the answer.

pub mod anonymous;

use std::future::{ready, Ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::db::posts::PostRow;
use crate::db::unlocks::read_ahead::Metered;
use crate::db::unlocks::{self, Asked, Look, MeterKey, MeteredRead, Opened, PostRef, Seen};
use crate::db::{self, events, insights, paywall_notices, posts, Conn};
use crate::domain::insights::Day;
use crate::domain::paywall::Reading;
use crate::domain::post::reader_json::Made;
use crate::domain::post::Slug;
use crate::domain::{parse_id, EventKind, Meter, Month, Plan, Requester, Role, User};
use crate::error::ApiError;
use crate::metrics::PaywallOutcome;
use crate::session::AlongWith;
use crate::state::AppState;

/// What a metered read needs of its reader.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub id: i64,
    pub plan: Plan,
    pub role: Role,
}

/// The post a path's `{id}` names: a post id (a positive integer in plain
/// decimal), or a slug; `None` for a text that is neither, which names no
/// post and never uses a read.
pub fn post_named(raw: &str) -> Option<PostRef> {
    match parse_id(raw) {
        Some(id) => Some(PostRef::Id(id)),
        None => Slug::shared(raw).map(PostRef::Slug),
    }
}

/// A metered read the guard asks about along with the session: the post
/// its path names, and the free plan's limit.
pub struct MeterAsk {
    pub post: PostRef,
    pub free_reads: u32,
}

/// What the guard learned of the request's metered read along with the
/// session, handed to the handler ([`AheadMeter`]): what the read is
/// judged by, and the meter's answer unless only the write that grants an
/// unlock can tell (see `db::unlocks::answer_read_only`).
pub struct Metering {
    pub reading: Reading,
    pub answer: Option<Opened>,
}

impl AlongWith for MeterAsk {
    type Found = Metering;

    fn asked(&self, now: i64) -> Asked {
        let (month, day) = (Month::at(now), Day::of(now).0);
        let post = self.post.clone();
        Asked { month, day, post }
    }

    fn decide(
        &self,
        conn: &mut Conn,
        user: &User,
        asked: &Asked,
        ahead: Option<Metered>,
        now: i64,
    ) -> Result<Metering, db::Error> {
        let reading = Reading::at(now, user.plan, user.role, self.free_reads);
        let answer = match reading.limit {
            Some(limit) => {
                let user_id = user.id;
                let look = Look {
                    user_id,
                    asked,
                    limit,
                    now,
                };
                unlocks::answer_read_only(conn, look, ahead)?
            }
            None => None,
        };
        Ok(Metering { reading, answer })
    }
}

/// What the guard read of this request's metered read along with its
/// session ([`Metering`]), handed to the handler as an argument; `None`
/// for a read the guard did not ask about (a `HEAD`).
pub struct AheadMeter(pub Option<Metering>);

impl FromRequest for AheadMeter {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(Ok(AheadMeter(req.extensions_mut().remove::<Metering>())))
    }
}

/// Whether a read delivers the post (a `GET`: it spends a read, counts in
/// insights and records the month's first refusal, by `Requester`), or
/// only asks what a `GET` would get (a `HEAD`), changing nothing.
pub enum Spend<'a> {
    Get(&'a dyn Fn() -> Requester),
    Look,
}

impl Spend<'_> {
    fn by(&self) -> Option<Requester> {
        match self {
            Spend::Get(by) => Some(by()),
            Spend::Look => None,
        }
    }

    fn spends(&self) -> bool {
        matches!(self, Spend::Get(_))
    }
}

/// What a reader is answered: the post as kept for its version, with the
/// meter for a metered reader.
pub struct Answered {
    pub made: Made,
    pub post: PostRow,
    pub meter: Option<Meter>,
}

/// How many times a read decides again when the post it decided on is
/// saved before its answer is made: one save between is rare, more is a
/// post being saved faster than it can be read.
const DECISIONS: usize = 3;

/// Opens the post `named` (an id or a slug) for `reader`, through the
/// paywall (`domain::paywall`), with what the guard read ahead for it
/// (`ahead`, `None` for a read it did not ask about).
pub async fn read(
    state: &AppState,
    reader: Reader,
    named: &str,
    ahead: Option<Metering>,
    spend: Spend<'_>,
) -> Result<Answered, ApiError> {
    let (reading, answered) = match ahead {
        Some(metering) => (metering.reading, metering.answer),
        None => {
            let now = state.clock.now();
            let free_reads = state.settings.free_reads;
            (Reading::at(now, reader.plan, reader.role, free_reads), None)
        }
    };
    let Some(limit) = reading.limit else {
        return unmetered(state, reader, named, reading.now, &spend).await;
    };
    let read = |post_id| MeteredRead {
        user_id: reader.id,
        key: MeterKey {
            month: reading.month,
            post_id,
        },
        limit,
        now: reading.now,
    };
    let mut opened = match answered {
        // The month's first refusal, found by the guard: recorded now.
        Some(opened) => match (
            Refusal::first(&opened, reader.id, reading.month, limit),
            &spend,
        ) {
            (Some(refusal), Spend::Get(by)) => {
                let by = by();
                db::idempotent(&state.pool, reading.now, move |conn, now| {
                    refusal.record(conn, now, &by)
                })
                .await?;
                recorded(opened)
            }
            _ => opened,
        },
        None => {
            let post_id = named_post(state, named).await?.ok_or(ApiError::NotFound)?;
            open(state, read(post_id), &spend).await?
        }
    };
    let meter = |used| Meter::new(limit, used, reading.month);
    for _ in 0..DECISIONS {
        let Opened::Granted {
            post,
            used,
            reread,
            seen,
        } = opened
        else {
            break;
        };
        let Some(made) = made(state, &post).await? else {
            // Saved meanwhile: what the reader gets is decided on the
            // version stored now (an unlock already made stays made).
            opened = open(state, read(post.id), &spend).await?;
            continue;
        };
        if spend.spends() {
            let outcome = match reread {
                true => PaywallOutcome::Reread,
                false => PaywallOutcome::Granted,
            };
            state.metrics.paywall(outcome);
            if !seen.read {
                count(state, Counted::Read, post.id, reader.id, reading.now).await;
            }
        }
        let meter = Some(meter(used));
        return Ok(Answered { made, post, meter });
    }
    let (post_id, seen, refusal) = match opened {
        Opened::Granted { .. } => return Err(ApiError::Unavailable),
        Opened::NotFound => return Err(ApiError::NotFound),
        Opened::Paywalled {
            post_id,
            used,
            seen,
            ..
        } => (post_id, seen, ApiError::Paywall(meter(used))),
        Opened::PremiumRequired {
            post_id,
            used,
            seen,
            ..
        } => (post_id, seen, ApiError::PremiumRequired(meter(used))),
    };
    if spend.spends() {
        state.metrics.paywall(PaywallOutcome::Refused);
        if !seen.refused {
            count(state, Counted::Refused, post_id, reader.id, reading.now).await;
        }
    }
    Err(refusal)
}

/// A read by a reader no meter counts (premium, an author or an admin):
/// the post as it is now, counted once a day in insights.
async fn unmetered(
    state: &AppState,
    reader: Reader,
    named: &str,
    now: i64,
    spend: &Spend<'_>,
) -> Result<Answered, ApiError> {
    let post_id = named_post(state, named).await?.ok_or(ApiError::NotFound)?;
    let user_id = reader.id;
    for _ in 0..DECISIONS {
        let (post, read_today) = db::idempotent(&state.pool, now, move |conn, now| {
            Ok::<_, ApiError>(posts::find_visible_to(conn, post_id, user_id, now)?)
        })
        .await?
        .ok_or(ApiError::NotFound)?;
        if let Some(made) = made(state, &post).await? {
            if spend.spends() {
                state.metrics.paywall(PaywallOutcome::Granted);
                if !read_today {
                    count(state, Counted::Read, post.id, user_id, now).await;
                }
            }
            let meter = None;
            return Ok(Answered { made, post, meter });
        }
    }
    Err(ApiError::Unavailable)
}

/// The answer kept for `post`'s version, made from the stored content
/// when this instance has none; `None` when the post was saved (or
/// deleted) since `post` was read, and is to be decided on again.
pub async fn made(state: &AppState, post: &PostRow) -> Result<Option<Made>, ApiError> {
    let (id, version) = (post.id, post.updated_at);
    if let Some(made) = state.reader_json.get(id, version) {
        return Ok(Some(made));
    }
    let content = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(posts::find_content(conn, id, version)?)
    })
    .await?;
    Ok(content.map(|content| {
        let made = Made::of(&content.fields());
        state.reader_json.keep(id, version, made.clone());
        made
    }))
}

/// The post `raw` names: an id (a positive integer in plain decimal), or
/// a slug (one lookup, to the id the meter counts by); `None` when it names
/// none, which never uses a read.
async fn named_post(state: &AppState, raw: &str) -> Result<Option<i64>, ApiError> {
    let slug = match post_named(raw) {
        Some(PostRef::Id(id)) => return Ok(Some(id)),
        Some(PostRef::Slug(slug)) => slug,
        None => return Ok(None),
    };
    let id = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(posts::id_by_slug(conn, &slug)?)
    })
    .await?;
    Ok(id)
}

/// What opening the post comes to, asked of the database: spending a read
/// for a `GET` (and recording the month's first refusal with it), only
/// looking for a `HEAD`. Safe to run twice: opening a post again changes
/// nothing, and the month's notice is kept to one by its primary key.
async fn open(state: &AppState, read: MeteredRead, spend: &Spend<'_>) -> Result<Opened, ApiError> {
    let by = spend.by();
    let opened = db::idempotent(&state.pool, read.now, move |conn, now| {
        let Some(by) = &by else {
            return Ok(unlocks::peek_metered(conn, read)?);
        };
        let opened = unlocks::open_metered(conn, read)?;
        let Some(refusal) = Refusal::first(&opened, read.user_id, read.key.month, read.limit)
        else {
            return Ok::<_, db::Error>(opened);
        };
        refusal.record(conn, now, by)?;
        Ok(recorded(opened))
    })
    .await?;
    Ok(opened)
}

/// The month's first refusal of a user, as recorded.
#[derive(Clone, Copy)]
struct Refusal {
    user_id: i64,
    post_id: i64,
    month: Month,
    used: u32,
    limit: u32,
    /// Insights hold it already.
    counted: bool,
}

impl Refusal {
    /// The refusal of `user_id` in `month` that `opened` is, if it is the
    /// month's first and still to be recorded.
    fn first(opened: &Opened, user_id: i64, month: Month, limit: u32) -> Option<Refusal> {
        let Opened::Paywalled {
            post_id,
            used,
            first_of_month: true,
            seen,
        } = *opened
        else {
            return None;
        };
        Some(Refusal {
            user_id,
            post_id,
            month,
            used,
            limit,
            counted: seen.refused,
        })
    }

    /// Records the month's first refusal as its one `paywall` event (the
    /// notice's primary key keeps it to one under races: only the insert
    /// that wins records the event), and counts it in insights in the same
    /// transaction; every later refusal learns from the metered read
    /// itself that it is not the first, and writes nothing for the notice.
    fn record(self, conn: &mut db::Conn, now: i64, by: &Requester) -> Result<(), db::Error> {
        db::write_transaction(conn, |conn| {
            if paywall_notices::notice(conn, self.user_id, self.month)? {
                let detail = serde_json::json!({ "used": self.used, "limit": self.limit });
                let kind = EventKind::Paywall;
                events::record(conn, now, self.user_id, kind, by, detail)?;
            }
            if !self.counted {
                insights::refused(conn, self.post_id, self.user_id, now)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        Ok(())
    }
}

/// What a read tells insights.
#[derive(Clone, Copy)]
enum Counted {
    /// The user was answered the post.
    Read,
    /// The user was refused it (`402`).
    Refused,
}

/// Counts a read or a refusal in insights (`db::insights`): only the
/// first of the day, and for a refusal the first since another post
/// refused the user, comes here, which the read itself found out. A
/// failure costs the count, never the reader's answer.
async fn count(state: &AppState, counted: Counted, post_id: i64, user_id: i64, now: i64) {
    let written = db::idempotent(&state.pool, now, move |conn, now| {
        match counted {
            Counted::Read => insights::read(conn, post_id, user_id, now)?,
            Counted::Refused => insights::refused(conn, post_id, user_id, now)?,
        }
        Ok::<_, db::Error>(())
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(post_id, user_id, error = %e, "a read was not counted in insights");
    }
}

/// `opened`, a refusal whose notice was just recorded and counted in
/// insights.
fn recorded(opened: Opened) -> Opened {
    match opened {
        Opened::Paywalled {
            post_id,
            used,
            first_of_month,
            seen,
        } => Opened::Paywalled {
            post_id,
            used,
            first_of_month,
            seen: Seen {
                refused: true,
                ..seen
            },
        },
        other => other,
    }
}
