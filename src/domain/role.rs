//! `Role`: what a user may do beyond reading. Everyone who registers is a
//! reader; authors write and publish their own posts; admins manage every
//! post and every user.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Reader,
    Author,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Reader, Role::Author, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Author => "author",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == raw)
    }

    /// May write posts (their own; an admin's reach is every post).
    pub fn writes(self) -> bool {
        matches!(self, Role::Author | Role::Admin)
    }

    /// May a user with this role and id edit a post by `author`? An admin
    /// every post, an author their own, a reader none. (To an author,
    /// another's post does not exist: the routes answer `404`.)
    pub fn may_edit(self, user_id: i64, author: Option<i64>) -> bool {
        match self {
            Role::Admin => true,
            Role::Author => author == Some(user_id),
            Role::Reader => false,
        }
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let raw = String::deserialize(d)?;
        Role::parse(&raw).ok_or_else(|| serde::de::Error::custom("unknown role"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for bad in ["", "Reader", "root", "admin "] {
            assert_eq!(Role::parse(bad), None, "{bad:?}");
        }
        assert!(!Role::Reader.writes() && Role::Author.writes() && Role::Admin.writes());
    }

    #[test]
    fn authors_edit_their_own_posts_and_admins_every_one() {
        assert!(Role::Author.may_edit(7, Some(7)));
        assert!(!Role::Author.may_edit(7, Some(8)));
        assert!(
            !Role::Author.may_edit(7, None),
            "a demo post, or a deleted author's"
        );
        assert!(Role::Admin.may_edit(7, Some(8)) && Role::Admin.may_edit(7, None));
        assert!(!Role::Reader.may_edit(7, Some(7)));
    }
}
