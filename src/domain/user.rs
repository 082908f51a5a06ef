//! Users and roles.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Create, edit and submit articles.
    Author,
    /// Approve or reject submitted revisions.
    Reviewer,
    /// Publish, schedule, archive, retire.
    Publisher,
    /// Everything, plus users and keys.
    Admin,
    /// Read internal content, give feedback.
    Agent,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Author,
        Role::Reviewer,
        Role::Publisher,
        Role::Admin,
        Role::Agent,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Author => "author",
            Role::Reviewer => "reviewer",
            Role::Publisher => "publisher",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                DomainError::new(
                    "role",
                    format!(
                        "unknown role '{s}': expected author, reviewer, publisher, admin or agent"
                    ),
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of roles, stored as a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Roles(pub Vec<Role>);

impl Roles {
    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role) || self.0.contains(&Role::Admin)
    }

    pub fn to_db(&self) -> String {
        self.0
            .iter()
            .map(Role::as_str)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_db(s: &str) -> Result<Self, DomainError> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let role: Role = part.parse()?;
            if !out.contains(&role) {
                out.push(role);
            }
        }
        Ok(Roles(out))
    }
}
