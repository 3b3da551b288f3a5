//! What several routes do alike to an account, written once: finish a
//! sign-in (whichever way it came in) or open its second step
//! ([`sign_in`]), remove a way in while keeping one ([`ways_in`]), confirm
//! that the caller owns the account before a sensitive change ([`owner`]),
//! tell the account's address about a change ([`notices`]), record a
//! request answered by mail whatever the address ([`by_mail`]), and build
//! the Account object ([`view`]), and everything stored about an account,
//! for its owner to keep ([`export`]).
//!
//! And what happens to a member, one function each, whoever asks: joining,
//! a change of plan, grant or role, being disabled, leaving
//! ([`members`]), with what a Stripe event does to a member
//! ([`subscriptions`]), and a member brought in from another list
//! ([`import`]). The tables below (`db::tables`) each know their
//! own rows only; a change that spans several is written here.
//!
//! Routes and the command line call these; these never call routes.

pub mod by_mail;
pub mod export;
pub mod import;
pub mod members;
pub mod notices;
pub mod owner;
pub mod sign_in;
pub mod subscriptions;
pub mod view;
pub mod ways_in;
