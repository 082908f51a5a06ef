//! The authoring and approval workflow as a pure policy.
//!
//! [`decide`] answers one question — may this actor take this action on a revision in this
//! state, and where does it lead? — from values alone, so it is tested exhaustively and
//! the store only has to apply its answer inside a transaction.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, RevisionState, Role, Roles};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Submit,
    Approve,
    Reject,
    Publish,
    Schedule,
    Archive,
    Retire,
    Restore,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::Submit,
        Action::Approve,
        Action::Reject,
        Action::Publish,
        Action::Schedule,
        Action::Archive,
        Action::Retire,
        Action::Restore,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Submit => "submit",
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Publish => "publish",
            Action::Schedule => "schedule",
            Action::Archive => "archive",
            Action::Retire => "retire",
            Action::Restore => "restore",
        }
    }

    /// The role an action needs (admins hold every role).
    pub fn required_role(&self) -> Role {
        match self {
            Action::Submit => Role::Author,
            Action::Approve | Action::Reject => Role::Reviewer,
            Action::Publish
            | Action::Schedule
            | Action::Archive
            | Action::Retire
            | Action::Restore => Role::Publisher,
        }
    }
}

impl FromStr for Action {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            DomainError::new(
                "action",
                format!(
                    "unknown action '{s}': expected submit, approve, reject, publish, schedule, archive, retire or restore"
                ),
            )
        })
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the policy needs to know beyond state, action and roles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Facts {
    /// The actor authored this revision (or one it was edited from in this review cycle).
    pub actor_edited: bool,
    /// The actor already approved this revision.
    pub actor_approved: bool,
    /// Approvals recorded so far for this revision.
    pub approvals: u32,
    /// Approvals the article type needs (the four-eyes rule needs at least one).
    pub approvals_required: u32,
    /// A comment was given.
    pub has_comment: bool,
    /// For `schedule`: whether the requested time is in the future (`None`: no time given).
    pub schedule_in_future: Option<bool>,
}

/// Why an action was refused. Each maps to one HTTP status in one place (`error.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The actor lacks the right (403).
    #[error("{0}")]
    Forbidden(String),
    /// The revision is in the wrong state for this action (409).
    #[error("{0}")]
    WrongState(String),
    /// The request is missing something the action needs (400).
    #[error("{0}")]
    Invalid(String),
}

/// The policy's answer when an action is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub to: RevisionState,
    /// The action records an approval (and `to` may still be `in_review`).
    pub records_approval: bool,
}

/// The transition table: which states an action may start from, and where it leads.
fn target(state: RevisionState, action: Action) -> Option<RevisionState> {
    use RevisionState::*;
    match (action, state) {
        (Action::Submit, Draft) => Some(InReview),
        (Action::Approve, InReview) => Some(Approved),
        (Action::Reject, InReview | Approved | Scheduled) => Some(Draft),
        (Action::Publish, Approved | Scheduled) => Some(Published),
        (Action::Schedule, Approved) => Some(Scheduled),
        (Action::Archive, Published) => Some(Archived),
        (Action::Retire, Published | Archived) => Some(Retired),
        (Action::Restore, Archived | Retired) => Some(Draft),
        _ => None,
    }
}

/// Decides whether `roles` may take `action` on a revision in `state`.
pub fn decide(
    state: RevisionState,
    action: Action,
    roles: &Roles,
    facts: &Facts,
) -> Result<Outcome, Denial> {
    let needed = action.required_role();
    if !roles.has(needed) {
        return Err(Denial::Forbidden(format!(
            "'{action}' needs the {needed} role"
        )));
    }
    let Some(mut to) = target(state, action) else {
        return Err(Denial::WrongState(format!(
            "cannot {action} a revision that is {state}"
        )));
    };
    let four_eyes = matches!(action, Action::Approve | Action::Publish | Action::Schedule);
    if four_eyes && facts.actor_edited {
        return Err(Denial::Forbidden(format!(
            "four-eyes rule: you edited this revision, so someone else must {action} it"
        )));
    }
    let mut records_approval = false;
    match action {
        Action::Approve => {
            if facts.actor_approved {
                return Err(Denial::Forbidden(
                    "you already approved this revision; another reviewer must approve it".into(),
                ));
            }
            records_approval = true;
            if facts.approvals + 1 < facts.approvals_required.max(1) {
                to = RevisionState::InReview;
            }
        }
        Action::Reject if !facts.has_comment => {
            return Err(Denial::Invalid(
                "a rejection needs a comment saying what to fix".into(),
            ));
        }
        Action::Schedule => match facts.schedule_in_future {
            None => return Err(Denial::Invalid("'schedule' needs a time ('at')".into())),
            Some(false) => {
                return Err(Denial::Invalid(
                    "the scheduled time must be in the future".into(),
                ));
            }
            Some(true) => {}
        },
        _ => {}
    }
    Ok(Outcome {
        to,
        records_approval,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use RevisionState::*;

    /// Every allowed (from, action, to) triple, written out by hand from the issue.
    const ALLOWED: &[(RevisionState, Action, RevisionState)] = &[
        (Draft, Action::Submit, InReview),
        (InReview, Action::Approve, Approved),
        (InReview, Action::Reject, Draft),
        (Approved, Action::Reject, Draft),
        (Scheduled, Action::Reject, Draft),
        (Approved, Action::Publish, Published),
        (Scheduled, Action::Publish, Published),
        (Approved, Action::Schedule, Scheduled),
        (Published, Action::Archive, Archived),
        (Published, Action::Retire, Retired),
        (Archived, Action::Retire, Retired),
        (Archived, Action::Restore, Draft),
        (Retired, Action::Restore, Draft),
    ];

    fn role_sets() -> Vec<Roles> {
        let mut out = vec![Roles(vec![])];
        out.extend(Role::ALL.iter().map(|r| Roles(vec![*r])));
        out.push(Roles(vec![Role::Reviewer, Role::Publisher]));
        out
    }

    fn permissive() -> Facts {
        Facts {
            has_comment: true,
            schedule_in_future: Some(true),
            approvals_required: 1,
            ..Facts::default()
        }
    }

    #[test]
    fn every_state_action_role() {
        let mut allowed = 0;
        for state in RevisionState::ALL {
            for action in Action::ALL {
                for roles in role_sets() {
                    let got = decide(state, action, &roles, &permissive());
                    let expected = ALLOWED.iter().find(|(f, a, _)| *f == state && *a == action);
                    let has_role = roles.has(action.required_role());
                    match (got, expected, has_role) {
                        (Ok(o), Some((_, _, to)), true) => {
                            assert_eq!(o.to, *to);
                            allowed += 1;
                        }
                        (Err(Denial::Forbidden(_)), _, false) => {}
                        (Err(Denial::WrongState(_)), None, true) => {}
                        other => panic!("{state} {action} {roles:?}: {other:?}"),
                    }
                }
            }
        }
        // Each allowed triple is allowed for exactly the role sets holding its role.
        let expected: usize = ALLOWED
            .iter()
            .map(|(_, a, _)| {
                role_sets()
                    .iter()
                    .filter(|r| r.has(a.required_role()))
                    .count()
            })
            .sum();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn four_eyes_holds_for_every_role_including_admin() {
        let facts = Facts {
            actor_edited: true,
            ..permissive()
        };
        for roles in role_sets() {
            for (state, action) in [
                (InReview, Action::Approve),
                (Approved, Action::Publish),
                (Approved, Action::Schedule),
                (Scheduled, Action::Publish),
            ] {
                assert!(
                    matches!(
                        decide(state, action, &roles, &facts),
                        Err(Denial::Forbidden(_))
                    ),
                    "{roles:?} {action}"
                );
            }
        }
        // An author may still submit and a reviewer reject their own revision.
        let admin = Roles(vec![Role::Admin]);
        assert!(decide(Draft, Action::Submit, &admin, &facts).is_ok());
        assert!(decide(InReview, Action::Reject, &admin, &facts).is_ok());
    }

    #[test]
    fn two_approvals() {
        let reviewer = Roles(vec![Role::Reviewer]);
        let first = Facts {
            approvals_required: 2,
            ..permissive()
        };
        assert_eq!(
            decide(InReview, Action::Approve, &reviewer, &first)
                .unwrap()
                .to,
            InReview
        );
        let second = Facts {
            approvals: 1,
            ..first
        };
        assert_eq!(
            decide(InReview, Action::Approve, &reviewer, &second)
                .unwrap()
                .to,
            Approved
        );
        let again = Facts {
            actor_approved: true,
            ..second
        };
        assert!(matches!(
            decide(InReview, Action::Approve, &reviewer, &again),
            Err(Denial::Forbidden(_))
        ));
    }

    #[test]
    fn reject_needs_comment_and_schedule_needs_future_time() {
        let r = Roles(vec![Role::Reviewer, Role::Publisher]);
        let no_comment = Facts {
            has_comment: false,
            ..permissive()
        };
        assert!(matches!(
            decide(InReview, Action::Reject, &r, &no_comment),
            Err(Denial::Invalid(_))
        ));
        let past = Facts {
            schedule_in_future: Some(false),
            ..permissive()
        };
        assert!(matches!(
            decide(Approved, Action::Schedule, &r, &past),
            Err(Denial::Invalid(_))
        ));
        let none = Facts {
            schedule_in_future: None,
            ..permissive()
        };
        assert!(matches!(
            decide(Approved, Action::Schedule, &r, &none),
            Err(Denial::Invalid(_))
        ));
    }
}
