//! Email and account recovery (`POST /email`, `/email/verify`,
//! `/password/forgot`, `/password/reset`, the `email` of `/register` and
//! `GET /account`), with messages delivered to a real SMTP server on
//! loopback (`support/mail.rs`) and links followed as a user would.

mod delivery;
mod notices;
mod reset;
mod verify;

/// The password a reset or a change sets.
const NEW_PASSWORD: &str = "a brand new secret";
