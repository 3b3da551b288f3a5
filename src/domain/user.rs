//! `User`: what a client may know about an account — never a password, a
//! hash or a session token.

use serde::{Deserialize, Serialize};

use crate::domain::{Plan, Role};
use crate::time::rfc3339;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    #[serde(with = "plan_text")]
    pub plan: Plan,
    pub role: Role,
    #[serde(
        serialize_with = "rfc3339::serialize_unix",
        deserialize_with = "unix_or_text"
    )]
    pub created_at: i64,
}

/// `created_at` is serialized as RFC 3339 for clients; inside the session
/// state it round-trips through the same text.
fn unix_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    chrono::DateTime::parse_from_rfc3339(&text)
        .map(|t| t.timestamp())
        .map_err(serde::de::Error::custom)
}

mod plan_text {
    use super::Plan;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(plan: &Plan, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(plan.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Plan, D::Error> {
        let raw = String::deserialize(d)?;
        Plan::parse(&raw).ok_or_else(|| serde::de::Error::custom("unknown plan"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_without_secrets_and_round_trips() {
        let user = User {
            id: 1,
            username: "Alice".into(),
            plan: Plan::Free,
            role: Role::Author,
            created_at: 1_795_255_200,
        };
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 1, "username": "Alice", "plan": "free", "role": "author", "created_at": "2026-11-21T10:00:00Z"})
        );
        assert_eq!(serde_json::from_value::<User>(json).unwrap(), user);
    }
}
