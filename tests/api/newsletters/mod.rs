//! Newsletters: who takes them (`Account.newsletter`, chosen at
//! registration or on the account page).

mod preference;
