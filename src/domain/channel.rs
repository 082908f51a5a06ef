//! The channels one article is published to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Web,
    Ivr,
    Agent,
    Bot,
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 5] = [
        Channel::Web,
        Channel::Ivr,
        Channel::Agent,
        Channel::Bot,
        Channel::Sms,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Ivr => "ivr",
            Channel::Agent => "agent",
            Channel::Bot => "bot",
            Channel::Sms => "sms",
        }
    }

    /// Customer-facing channels never see internal content, nor expired knowledge.
    pub fn is_customer_facing(&self) -> bool {
        !matches!(self, Channel::Agent)
    }
}

impl FromStr for Channel {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "web" => Ok(Channel::Web),
            "ivr" | "voice" => Ok(Channel::Ivr),
            "agent" => Ok(Channel::Agent),
            "bot" => Ok(Channel::Bot),
            "sms" => Ok(Channel::Sms),
            other => Err(DomainError::new(
                "channel",
                format!("unknown channel '{other}': expected web, ivr, agent, bot or sms"),
            )),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
