//! `ApiError`: every failure a client can see, and the one place where each is
//! given its HTTP status and contract `code`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::db;
use crate::domain::Meter;

/// Why a request carries no usable session; the sentence differs so that a
/// developer can tell a missing `credentials: "include"` from an expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    /// No session cookie arrived at all.
    Missing,
    /// A cookie arrived, but it is unknown, expired, revoked or tampered with.
    Invalid,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON")]
    InvalidJson(String),
    #[error("not logged in")]
    NotLoggedIn(NoSession),
    #[error("invalid credentials")]
    InvalidCredentials,
    /// A passkey sign-in that failed verification (same code as a wrong
    /// password, its own sentence).
    #[error("passkey refused")]
    PasskeyRefused,
    /// A wrong authenticator or recovery code at the second sign-in step.
    #[error("invalid code")]
    InvalidCode,
    /// A sign-in by email's code that is wrong, used, expired or dead.
    #[error("invalid emailed code")]
    InvalidEmailCode,
    #[error("two-factor sign-in already on")]
    TwoFactorEnabled,
    #[error("two-factor sign-in not on")]
    TwoFactorNotEnabled,
    /// A sensitive change by an account without a password, too long after
    /// signing in.
    #[error("signing in again required")]
    ReauthRequired,
    /// Removing an account's only way to sign in.
    #[error("last login method")]
    LastLoginMethod,
    #[error("paywall")]
    Paywall(Meter),
    #[error("premium required")]
    PremiumRequired(Meter),
    /// A browser without a session past its anonymous reads (or its
    /// network's day): the registration wall, with the browser's meter.
    #[error("registration required")]
    RegistrationRequired(Meter),
    /// Gifting a post, by a user who is not premium (with their meter).
    #[error("gifting needs premium")]
    GiftingNeedsPremium(Meter),
    /// The month's gifts are used up (with the gift meter).
    #[error("gift limit")]
    GiftLimit(Meter),
    #[error("gift expired")]
    GiftExpired,
    #[error("gift exhausted")]
    GiftExhausted,
    #[error("forbidden origin")]
    ForbiddenOrigin,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(&'static str),
    #[error("username taken")]
    UsernameTaken,
    #[error("payload too large")]
    /// A body over the route's limit (in bytes).
    PayloadTooLarge(usize),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("validation failed")]
    Validation(BTreeMap<String, String>),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("database unavailable")]
    Unavailable,
    /// An emailed link's token that is unknown, used, expired, or for an
    /// address the account no longer holds: one answer for all, so a token
    /// cannot be probed.
    #[error("invalid token")]
    InvalidToken,
    /// A billing webhook whose signature is missing, wrong or too old.
    #[error("invalid signature")]
    InvalidSignature,
    #[error("email taken")]
    EmailTaken,
    /// The caller's role does not allow the route.
    #[error("forbidden")]
    Forbidden,
    /// The right password, for an account an admin has disabled.
    #[error("account disabled")]
    AccountDisabled,
    /// A change that would leave no enabled admin.
    #[error("last admin")]
    LastAdmin,
    /// A webhook delivery asked to be tried again that has not failed.
    #[error("not failed")]
    NotFailed,
    #[error("slug taken")]
    SlugTaken,
    /// A post saved by someone else since the version the editor sent.
    #[error("edit conflict")]
    EditConflict,
    #[error("already premium")]
    AlreadyPremium,
    #[error("no billing account")]
    NoBillingAccount,
    /// A per-client-IP limit.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("billing is not configured")]
    BillingNotConfigured,
    /// Stripe failed or could not be reached.
    #[error("billing unavailable: {0:#}")]
    BillingUnavailable(#[source] anyhow::Error),
    /// An error answer that some layer outside our handlers made without a
    /// contract body (see `middleware::json_errors`), for a status no
    /// variant above stands for.
    #[error("refused by a layer with status {0}")]
    Refused(StatusCode),
    #[error("internal error: {0:#}")]
    Internal(#[source] anyhow::Error),
}

/// Largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 16 * 1024;

impl ApiError {
    /// A 422 for a single field.
    pub fn field(name: &str, problem: &str) -> Self {
        ApiError::Validation(BTreeMap::from([(name.to_owned(), problem.to_owned())]))
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(err.into())
    }

    /// Status, code and sentence — one arm per variant and no catch-all, so a
    /// new variant cannot ship without a deliberate mapping.
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use ApiError::*;
        match self {
            InvalidJson(detail) => (
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The request body is not valid JSON: {detail}."),
            ),
            NotLoggedIn(NoSession::Missing) => (
                StatusCode::UNAUTHORIZED,
                "not_logged_in",
                "You are not logged in: no session cookie arrived with this request. \
                 Log in first; browser code must send fetch(..., { credentials: \"include\" })."
                    .to_owned(),
            ),
            NotLoggedIn(NoSession::Invalid) => (
                StatusCode::UNAUTHORIZED,
                "not_logged_in",
                "You are not logged in: your session is unknown or has expired. Log in again."
                    .to_owned(),
            ),
            InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "The username or password is incorrect.".to_owned(),
            ),
            PasskeyRefused => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "This passkey could not be verified. Try again, or sign in another way.".to_owned(),
            ),
            InvalidCode => (
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "That code is not right. Use the current code from your authenticator app, \
                 or one of your recovery codes."
                    .to_owned(),
            ),
            InvalidEmailCode => (
                StatusCode::UNAUTHORIZED,
                "invalid_code",
                "That code is not right, or no longer works. Use the code of the latest \
                 message, or ask for a new one."
                    .to_owned(),
            ),
            TwoFactorEnabled => (
                StatusCode::CONFLICT,
                "two_factor_enabled",
                "An authenticator app is already set up. Turn it off first to set up another."
                    .to_owned(),
            ),
            TwoFactorNotEnabled => (
                StatusCode::CONFLICT,
                "two_factor_not_enabled",
                "No authenticator app is set up (or waiting to be confirmed) on this account."
                    .to_owned(),
            ),
            ReauthRequired => (
                StatusCode::FORBIDDEN,
                "reauth_required",
                "This account has no password, so this change needs a fresh sign-in: \
                 sign in again with your provider, then retry within 5 minutes."
                    .to_owned(),
            ),
            LastLoginMethod => (
                StatusCode::CONFLICT,
                "last_login_method",
                "This is the only way left to sign in to this account. Set a password or \
                 add a passkey or another provider first."
                    .to_owned(),
            ),
            Paywall(_) => (
                StatusCode::PAYMENT_REQUIRED,
                "paywall",
                "You have read all your free articles this month. Upgrade to premium to keep reading."
                    .to_owned(),
            ),
            PremiumRequired(_) => (
                StatusCode::PAYMENT_REQUIRED,
                "premium_required",
                "This article is for premium readers. Upgrade to premium to read it.".to_owned(),
            ),
            RegistrationRequired(_) => (
                StatusCode::PAYMENT_REQUIRED,
                "registration_required",
                "You have read the free articles open without an account this month. \
                 Create a free account to keep reading."
                    .to_owned(),
            ),
            GiftingNeedsPremium(_) => (
                StatusCode::PAYMENT_REQUIRED,
                "premium_required",
                "Gifting posts is for premium readers. Upgrade to premium to share them.".to_owned(),
            ),
            GiftLimit(gifts) => (
                StatusCode::CONFLICT,
                "gift_limit",
                format!(
                    "You have gifted {} posts this month, as many as you may. More from {}.",
                    gifts.used,
                    gifts.resets_at.format("%B %-d")
                ),
            ),
            GiftExpired => (
                StatusCode::GONE,
                "gift_expired",
                "This gift link has expired. Ask whoever sent it for a new one.".to_owned(),
            ),
            GiftExhausted => (
                StatusCode::GONE,
                "gift_exhausted",
                "This gift link has been opened by as many readers as it may serve.".to_owned(),
            ),
            ForbiddenOrigin => (
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                "Cross-site requests from this origin are not allowed.".to_owned(),
            ),
            NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "There is nothing here.".to_owned(),
            ),
            MethodNotAllowed(allow) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("This path does not accept that method; it accepts {allow}."),
            ),
            UsernameTaken => (
                StatusCode::CONFLICT,
                "username_taken",
                "That username is already taken.".to_owned(),
            ),
            PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {limit} bytes."),
            ),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the request body as JSON with Content-Type: application/json.".to_owned(),
            ),
            Validation(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are missing or invalid.".to_owned(),
            ),
            TooManyAttempts { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!(
                    "Too many failed logins for this username. Try again in {retry_after_secs} seconds."
                ),
            ),
            Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The service is temporarily unavailable. Try again shortly.".to_owned(),
            ),
            InvalidToken => (
                StatusCode::BAD_REQUEST,
                "invalid_token",
                "This link is invalid or has expired. Ask for a new one.".to_owned(),
            ),
            InvalidSignature => (
                StatusCode::BAD_REQUEST,
                "invalid_signature",
                "The webhook signature is missing, wrong or too old.".to_owned(),
            ),
            EmailTaken => (
                StatusCode::CONFLICT,
                "email_taken",
                "Another account has already verified this email address.".to_owned(),
            ),
            Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Your role does not allow this.".to_owned(),
            ),
            AccountDisabled => (
                StatusCode::FORBIDDEN,
                "account_disabled",
                "This account has been disabled. Contact the site's administrators.".to_owned(),
            ),
            LastAdmin => (
                StatusCode::CONFLICT,
                "last_admin",
                "This would leave no enabled admin. Make someone else an admin first.".to_owned(),
            ),
            NotFailed => (
                StatusCode::CONFLICT,
                "not_failed",
                "Only a failed delivery can be tried again.".to_owned(),
            ),
            SlugTaken => (
                StatusCode::CONFLICT,
                "slug_taken",
                "Another post already has this slug.".to_owned(),
            ),
            EditConflict => (
                StatusCode::CONFLICT,
                "edit_conflict",
                "Someone else saved this post after you opened it. Reload it to see their changes."
                    .to_owned(),
            ),
            AlreadyPremium => (
                StatusCode::CONFLICT,
                "already_premium",
                "You are already on the premium plan.".to_owned(),
            ),
            NoBillingAccount => (
                StatusCode::CONFLICT,
                "no_billing_account",
                "You have no billing account yet: subscribe first.".to_owned(),
            ),
            TooManyRequests { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "Too many requests from your network. Try again in {retry_after_secs} seconds."
                ),
            ),
            BillingNotConfigured => (
                StatusCode::NOT_IMPLEMENTED,
                "billing_not_configured",
                "Billing is not configured on this server.".to_owned(),
            ),
            BillingUnavailable(_) => (
                StatusCode::BAD_GATEWAY,
                "billing_unavailable",
                "The payment provider could not be reached. Try again in a moment.".to_owned(),
            ),
            Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side.".to_owned(),
            ),
            Refused(status) if status.is_server_error() => (
                *status,
                "internal",
                "Something went wrong on our side.".to_owned(),
            ),
            // The Allow header, if the layer gave one, is kept.
            Refused(status) if *status == StatusCode::METHOD_NOT_ALLOWED => (
                *status,
                "method_not_allowed",
                "This path does not accept that method.".to_owned(),
            ),
            Refused(status) if *status == StatusCode::TOO_MANY_REQUESTS => (
                *status,
                "too_many_attempts",
                "Too many attempts. Try again later.".to_owned(),
            ),
            Refused(status) => (
                *status,
                "invalid_json",
                "The request could not be read.".to_owned(),
            ),
        }
    }

    /// The contract's error for an error answer that reached
    /// `middleware::json_errors` without a contract body (actix's own
    /// defaults, a library's plain-text refusal): its status, told as the
    /// variant that stands for it. `preflight` marks a CORS preflight.
    pub fn from_status(status: StatusCode, preflight: bool) -> ApiError {
        use ApiError::*;
        match status.as_u16() {
            // actix-cors refuses a preflight for a method or header it does
            // not allow with a plain 400; to the contract that is a refused
            // origin.
            400 if preflight => ForbiddenOrigin,
            401 => NotLoggedIn(NoSession::Missing),
            403 => ForbiddenOrigin,
            404 => NotFound,
            413 => PayloadTooLarge(BODY_LIMIT),
            415 => UnsupportedMediaType,
            422 => Validation(BTreeMap::new()),
            503 => Unavailable,
            500 => Internal(anyhow::anyhow!("a layer answered 500 without a body")),
            _ => Refused(status),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::NotLoggedIn(NoSession::Missing) = self {
            return no_cookie_refusal();
        }
        let (status, code, sentence) = self.parts();
        match self {
            // The client learns nothing; the log gets the whole cause chain.
            ApiError::Internal(cause) => {
                tracing::error!(error.cause_chain = ?cause, "internal error")
            }
            ApiError::BillingUnavailable(cause) => {
                tracing::warn!(error.cause_chain = ?cause, "the payment provider failed")
            }
            _ => {}
        }
        let mut body = ErrorBody {
            error: &sentence,
            code,
            fields: None,
            meter: None,
            gifts: None,
        };
        let mut response = HttpResponse::build(status);
        match self {
            ApiError::Validation(fields) => body.fields = Some(fields),
            ApiError::Paywall(meter)
            | ApiError::PremiumRequired(meter)
            | ApiError::RegistrationRequired(meter)
            | ApiError::GiftingNeedsPremium(meter) => body.meter = Some(meter),
            ApiError::GiftLimit(gifts) => body.gifts = Some(gifts),
            ApiError::MethodNotAllowed(allow) => {
                response.insert_header((header::ALLOW, *allow));
            }
            ApiError::TooManyAttempts { retry_after_secs }
            | ApiError::TooManyRequests { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            _ => {}
        }
        response.json(body)
    }
}

/// The guard's `401` to a request without a session cookie: the most
/// frequent answer there is (every anonymous request for a guarded path),
/// and always the same, so its body is serialized once and shared.
fn no_cookie_refusal() -> HttpResponse {
    static BODY: OnceLock<actix_web::web::Bytes> = OnceLock::new();
    let body = BODY.get_or_init(|| {
        let (_, code, sentence) = ApiError::NotLoggedIn(NoSession::Missing).parts();
        let body = ErrorBody {
            error: &sentence,
            code,
            fields: None,
            meter: None,
            gifts: None,
        };
        // Two plain strings cannot fail to serialize.
        serde_json::to_vec(&body)
            .expect("an error body serializes")
            .into()
    });
    HttpResponse::Unauthorized()
        .insert_header(header::ContentType::json())
        .body(body.clone())
}

/// The contract's error body, serialized straight from borrowed parts (the
/// guard's 401 is the most frequent answer there is; no `Value` tree).
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meter: Option<&'a Meter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gifts: Option<&'a Meter>,
}

/// What a database failure means to a client. A locked, busy or
/// unreachable database is an outage the client may retry (`503`). A row
/// that refers to a vanished one means the user it was being written for
/// has just been deleted (the account was deleted while this request was in
/// flight; posts are never deleted), so the caller is no longer logged in.
/// Anything else is a bug (`500`).
impl From<db::Error> for ApiError {
    fn from(err: db::Error) -> Self {
        match err {
            db::Error::Unavailable => ApiError::Unavailable,
            db::Error::Vanished => ApiError::NotLoggedIn(NoSession::Invalid),
            db::Error::Query(_) | db::Error::TaskFailed => ApiError::Internal(err.into()),
        }
    }
}

/// So that `?` works on a query inside a handler's database closure.
impl From<diesel::result::Error> for ApiError {
    fn from(err: diesel::result::Error) -> Self {
        db::Error::from(err).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_refusal_is_the_refusal() {
        let response = ApiError::NotLoggedIn(NoSession::Missing).error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers().get(header::CONTENT_TYPE).unwrap(),
            "application/json"
        );
        let body = actix_web::rt::System::new()
            .block_on(actix_web::body::to_bytes(response.into_body()))
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let (_, code, sentence) = ApiError::NotLoggedIn(NoSession::Missing).parts();
        assert_eq!(body, serde_json::json!({ "error": sentence, "code": code }));
    }
}
