//! A post's author as readers and editors see it.

use serde::Serialize;

/// `Author`: a username, and nothing else of the account.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Author {
    username: String,
}

impl Author {
    /// The author of a post whose author's account has `username`: `None`
    /// once the account is gone, and for the demo posts.
    pub fn of(username: Option<String>) -> Option<Author> {
        username.map(|username| Author { username })
    }
}
