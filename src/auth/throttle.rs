//! The login lockout around password checks: `LOGIN_MAX_FAILURES` failures
//! for one username within `LOGIN_LOCKOUT_SECONDS` lock it for that long,
//! even against the right password.
//!
//! Checks of one username take turns ([`Turns`]): each attempt reads the
//! lockout, checks the password and records the outcome before the next one
//! starts. Without turns, a hundred guesses fired in parallel would all pass
//! the lockout check before the first failure was recorded; with them, at
//! most `LOGIN_MAX_FAILURES` passwords are ever checked per window on an
//! instance, and a right password cannot slip in past a lockout that a
//! parallel failure has just earned. Parallel logins with the right
//! password simply queue, one bcrypt each; none is refused.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use crate::auth::ip_limits::Spent;
use crate::auth::password::{self, DummyHash, Verified};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::users::{Credentials, Lookup, UserRow};
use crate::db::{self, events, ip_limits, throttle, Pool};
use crate::domain::{EventKind, IpLimit, Password, Requester};
use crate::error::ApiError;

/// One async mutex per username currently being checked. An entry lives
/// only while someone holds or waits for it.
#[derive(Default)]
pub struct Turns {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Held while it is this request's turn for a username.
pub struct Turn<'a> {
    turns: &'a Turns,
    key: String,
    lock: Arc<tokio::sync::Mutex<()>>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turns {
    async fn take(&self, key: &str) -> Turn<'_> {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key.to_owned()).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        Turn {
            turns: self,
            key: key.to_owned(),
            lock,
            guard: Some(guard),
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut map = self.turns.map.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map and this turn hold the lock: nobody waits, so the
        // entry can go. (New waiters clone it under the map's mutex, which
        // is held here.)
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(&self.key);
        }
    }
}

/// Whose password is being checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// A login: the account (if any) with this lower-cased username. Logins
    /// are also refused (`429 too_many_requests`) from a client IP that has
    /// failed LOGIN_MAX_FAILURES_PER_IP times this window.
    Named,
    /// A login with a name that is not a valid username, so belongs to no
    /// account. It costs a bcrypt like any other, so its answer takes as
    /// long as a real one, but nothing is looked up (no account can have
    /// it) and it counts towards no username's lockout (only towards the
    /// client IP's failures).
    Unnamable,
    /// A logged-in user confirming their password.
    Id(i64),
    /// The second step of a sign-in (an authenticator or recovery code):
    /// held to the username's lockout and the client IP's failure limit
    /// like a login.
    SecondStep(i64),
    /// An emailed sign-in code: held to the client IP's failure limit
    /// only, whether or not an account holds the address (so a code's
    /// answers say nothing of accounts and lock no one out; the address's
    /// live sign-ins die at the fifth wrong code instead).
    AddressCode,
}

impl Account {
    /// Whether a failure counts towards the username's lockout, and a
    /// lockout refuses the check.
    fn counted(self) -> bool {
        !matches!(self, Account::Unnamable | Account::AddressCode)
    }

    /// Whether this is a login, held to the client IP's failure limit.
    fn is_login(self) -> bool {
        matches!(
            self,
            Account::Named | Account::Unnamable | Account::SecondStep(_) | Account::AddressCode
        )
    }
}

/// One password check: whose, under which username's lockout, and by whom.
pub struct Attempt<'a> {
    /// The lower-cased username whose lockout the check is under.
    pub key: &'a str,
    pub account: Account,
    pub password: String,
    pub by: &'a Requester,
}

/// A password that matched, with the turn still held so that the caller's
/// success (clearing the count, starting a session) lands before the next
/// attempt for the username is judged.
pub struct Passed<'a> {
    pub user: UserRow,
    /// A new hash when the stored one was made at another `BCRYPT_COST`.
    pub rehashed: Option<String>,
    pub turn: Turn<'a>,
}

/// Password checks under the per-username lockout: the turns, the dummy
/// hash for unknown names, and the settings they follow.
pub struct LoginThrottle {
    turns: Turns,
    dummy_hash: DummyHash,
    /// BCRYPT_COST: new hashes are made at it, older ones upgraded to it.
    bcrypt_cost: u32,
    max_failures: u32,
    /// LOGIN_LOCKOUT_SECONDS: the window failures are counted in, and how
    /// long a lockout lasts.
    window: i64,
    /// LOGIN_MAX_FAILURES_PER_IP failed logins (any usernames) per client
    /// network per window: credential stuffing across many names.
    pub per_ip: IpLimit,
    /// IPV6_LIMIT_PREFIX: the network an IPv6 client is counted by.
    v6_prefix: u8,
    /// The networks this instance has seen refused by `per_ip`, until
    /// their windows end (see [`LoginThrottle::judge`]).
    spent: Spent,
    /// DATABASE_TIMEOUT_SECONDS: the longest a password check may wait for
    /// a hashing thread before it is answered `503` instead.
    max_wait: std::time::Duration,
    /// Where the counts are kept, shared by every instance.
    pool: Pool,
    /// Whose "now" the windows are counted in (tests move it).
    clock: Clock,
}

impl LoginThrottle {
    /// Hashes a new password at BCRYPT_COST, off the async workers.
    pub async fn hash(&self, password: &Password) -> Result<String, ApiError> {
        password::hash(
            password.expose().to_owned(),
            self.bcrypt_cost,
            self.max_wait,
        )
        .await
    }

    /// Makes the dummy hash at the configured cost (a bcrypt: start-up only).
    pub fn new(settings: &Settings, pool: Pool, clock: Clock) -> anyhow::Result<Self> {
        Ok(LoginThrottle {
            turns: Turns::default(),
            dummy_hash: DummyHash::new(settings.bcrypt_cost)?,
            bcrypt_cost: settings.bcrypt_cost,
            max_failures: settings.login_max_failures,
            window: settings.login_lockout.as_secs() as i64,
            per_ip: IpLimit::new(
                "login_failure",
                settings.login_max_failures_per_ip,
                settings.login_lockout.as_secs() as i64,
            ),
            v6_prefix: settings.ipv6_limit_prefix,
            spent: Spent::default(),
            max_wait: settings.database_timeout,
            pool,
            clock,
        })
    }

    /// Checks the attempt's password for its account under the lockout of
    /// its `key`. `Ok(None)` is a wrong password (or no such account),
    /// already counted.
    pub async fn check_password(
        &self,
        attempt: Attempt<'_>,
    ) -> Result<Option<Passed<'_>>, ApiError> {
        let Attempt {
            key,
            account,
            password,
            by,
        } = attempt;
        let (dummy, cost, max_wait) = (&self.dummy_hash, self.bcrypt_cost, self.max_wait);
        let judged = self
            .judge(key, account, by, |found: Option<Credentials>| async move {
                let stored = found.as_ref().map(|c| c.password_hash.clone());
                Ok(
                    match password::verify(password, stored, dummy, cost, max_wait).await? {
                        Verified::Yes { rehashed } => found.map(|c| (c.user, rehashed)),
                        Verified::No => None,
                    },
                )
            })
            .await?;
        Ok(judged.map(|((user, rehashed), turn)| Passed {
            user,
            rehashed,
            turn,
        }))
    }

    /// Judges one attempt at `account`'s secret under the lockout of `key`
    /// and the client network's failure limit: `check` is given the account
    /// (if any) and says whether the secret was right (`Some`) or not.
    /// `Ok(None)` is a wrong one, already counted. The account is read as
    /// `check` asks: [`Credentials`] for a password, a [`UserRow`] (no hash)
    /// for any other secret.
    ///
    /// The client network's failure is reserved before `check` runs, in one
    /// atomic upsert, and given back if the secret was right: so with N
    /// failures allowed, parallel wrong attempts from one network, on any
    /// number of instances, never get more than N secrets checked. A
    /// failure is then recorded in one write transaction: the username's
    /// count, and for an existing account its `login_failed` event (and
    /// `login_locked` when this failure locked the name).
    ///
    /// A network the database refused once is refused again from memory
    /// until its window ends ([`Spent`], after its pause), before the
    /// username's turn and its lockout (so a locked name tried from such a
    /// network is answered with the network's refusal): a flood of wrong
    /// passwords from one network would otherwise cost a write
    /// transaction per attempt, each taking the network's row lock, and
    /// on PostgreSQL keep the pool's connections from the session checks
    /// served beside it. A window's count only falls when an attempt
    /// reserved before the refusal is given back (its password was right,
    /// or it went unanswered: the hashing queue full, the database
    /// failing), or by hand; memory ignores that fall, so it can be
    /// stricter than the database within the window, never looser.
    pub async fn judge<R, T, F, Fut>(
        &self,
        key: &str,
        account: Account,
        by: &Requester,
        check: F,
    ) -> Result<Option<(T, Turn<'_>)>, ApiError>
    where
        R: Lookup + Send + 'static,
        F: FnOnce(Option<R>) -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>, ApiError>>,
    {
        let counted = account.counted();
        let network = by
            .ip
            .filter(|_| account.is_login())
            .map(|ip| crate::domain::network_of(ip, self.v6_prefix));
        let (pool, clock) = (&self.pool, &self.clock);
        if let Some(network) = &network {
            self.spent.check(&self.per_ip, network, clock.now()).await?;
        }
        let turn = self.turns.take(key).await;
        let reserved_at = clock.now();
        let found = {
            let key = key.to_owned();
            let now = reserved_at;
            let (asked, per_ip) = (network.clone(), self.per_ip);
            let found = db::once(pool, now, move |conn, now| {
                if counted {
                    if let Some(retry_after_secs) = throttle::lockout_remaining(conn, &key, now)? {
                        return Err(ApiError::TooManyAttempts { retry_after_secs });
                    }
                }
                if let Some(network) = &asked {
                    // Over the limit rolls this transaction back, the
                    // reservation with it.
                    let failures = ip_limits::hit(conn, &per_ip, network, now)?;
                    if let Some(retry_after_secs) = per_ip.refusal(failures.saturating_sub(1), now)
                    {
                        return Err(ApiError::TooManyRequests { retry_after_secs });
                    }
                }
                Ok(match account {
                    Account::Unnamable | Account::AddressCode => None,
                    Account::Named => R::by_key(conn, &key)?,
                    Account::Id(id) | Account::SecondStep(id) => R::by_id(conn, id)?,
                })
            })
            .await;
            match &network {
                Some(network) => self.spent.note(&self.per_ip, network, now, found)?,
                None => found?,
            }
        };

        let user_id = found.as_ref().map(Lookup::user_id);
        let give_back = |network: Option<String>| {
            let per_ip = self.per_ip;
            async move {
                let Some(network) = network else {
                    return Ok(());
                };
                db::once(pool, reserved_at, move |conn, reserved_at| {
                    Ok::<_, ApiError>(ip_limits::give_back(conn, &per_ip, &network, reserved_at)?)
                })
                .await
            }
        };
        match check(found).await {
            Ok(Some(passed)) => {
                give_back(network).await?;
                Ok(Some((passed, turn)))
            }
            // No answer on the secret (the hashing queue is full, or the
            // database failed): the attempt does not count.
            Err(e) => {
                give_back(network).await?;
                Err(e)
            }
            Ok(None) => {
                let key = key.to_owned();
                let (max, window, now) = (self.max_failures, self.window, clock.now());
                let by = by.clone();
                db::once(pool, now, move |conn, now| {
                    let locked = counted && throttle::record_failure(conn, &key, now, max, window)?;
                    if let Some(user_id) = user_id {
                        events::record_plain(conn, now, user_id, EventKind::LoginFailed, &by)?;
                        if locked {
                            events::record_plain(conn, now, user_id, EventKind::LoginLocked, &by)?;
                        }
                    }
                    Ok::<_, ApiError>(())
                })
                .await?;
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn turns_are_exclusive_per_key_and_leave_no_entries_behind() {
        let turns = Turns::default();
        let first = turns.take("alice").await;
        // Another key is not held up.
        let other = turns.take("bob").await;
        drop(other);
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), turns.take("alice"));
        assert!(waiting.await.is_err(), "a second turn for alice must wait");
        drop(first);
        let again = turns.take("alice").await;
        drop(again);
        assert!(turns.map.lock().unwrap().is_empty());
    }
}
