//! What several routes do alike to an account, written once: finish a
//! sign-in (whichever way it came in) or open its second step
//! ([`sign_in`]), remove a way in while keeping one ([`ways_in`]), confirm
//! that the caller owns the account before a sensitive change ([`owner`]),
//! tell the account's address about a change ([`notices`]), give
//! complimentary premium ([`grants`]), record a request answered by mail whatever the address ([`by_mail`]), and build the
//! Account object ([`view`]). Routes call these; these never call routes.

pub mod by_mail;
pub mod grants;
pub mod notices;
pub mod owner;
pub mod sign_in;
pub mod view;
pub mod ways_in;
