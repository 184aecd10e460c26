//! What each PostgreSQL constraint means to a caller when a write violates it.
//!
//! Every module lists the constraints of its own tables next to its rules (`CONSTRAINTS`);
//! this module only gathers the lists. A test reads every unique, check and foreign-key
//! constraint from the database and fails when one has no entry here, so a migration cannot add
//! a constraint whose violation would surface as a 500.

use super::AppError;
use crate::domain::free_form::FieldIssue;
use crate::store::pg::Violation;

/// The problem a violation becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// 409 with a stable code, the field it concerns (if any) and a message.
    Conflict { code: &'static str, field: Option<&'static str>, message: &'static str },
    /// 422 naming the field.
    Invalid { field: &'static str, code: &'static str, message: &'static str },
    /// 422 `invalid_length`: the text is not `min` to `max` characters long (`min` 0: at most `max`).
    Length { field: &'static str, min: u32, max: u32 },
    /// 404: the row the write needed was deleted meanwhile.
    Gone { resource: &'static str },
    /// A rule the code establishes itself before writing (computed totals, one seat per
    /// enrollment). Its violation is a defect, reported as one (500, logged with the
    /// constraint), never something a caller's input can cause.
    Invariant,
}

/// One constraint and what its violation means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Unique(&'static str, Meaning),
    Check(&'static str, Meaning),
    /// A foreign key, read from both sides: `missing` when a write names a row that does not
    /// exist, `in_use` when deleting a row that others still reference (`None` when the
    /// schema cascades or nulls the references, so a delete never fails on it).
    ForeignKey {
        name: &'static str,
        missing: Meaning,
        in_use: Option<Meaning>,
    },
}

impl Rule {
    pub const fn foreign_key(name: &'static str, missing: Meaning, in_use: Option<Meaning>) -> Rule {
        Rule::ForeignKey { name, missing, in_use }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Rule::Unique(name, _) | Rule::Check(name, _) | Rule::ForeignKey { name, .. } => name,
        }
    }
}

pub const fn conflict(code: &'static str, field: Option<&'static str>, message: &'static str) -> Meaning {
    Meaning::Conflict { code, field, message }
}

pub const fn invalid(field: &'static str, code: &'static str, message: &'static str) -> Meaning {
    Meaning::Invalid { field, code, message }
}

pub const fn out_of_range(field: &'static str, message: &'static str) -> Meaning {
    Meaning::Invalid { field, code: "out_of_range", message }
}

pub const fn gone(resource: &'static str) -> Meaning {
    Meaning::Gone { resource }
}

pub const fn length(field: &'static str, min: u32, max: u32) -> Meaning {
    Meaning::Length { field, min, max }
}

/// Every module's constraints.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    [
        super::companies::CONSTRAINTS,
        super::interests::CONSTRAINTS,
        super::clients::CONSTRAINTS,
        super::catalog::CONSTRAINTS,
        super::coupons::CONSTRAINTS,
        super::orders::CONSTRAINTS,
        super::carts::CONSTRAINTS,
        super::workshops::CONSTRAINTS,
        super::enrollments::CONSTRAINTS,
        super::payments::CONSTRAINTS,
        super::idempotency::CONSTRAINTS,
        super::subscriptions::CONSTRAINTS,
        super::events::CONSTRAINTS,
        super::webhooks::CONSTRAINTS,
        super::notifications::CONSTRAINTS,
        super::access::CONSTRAINTS,
        super::auth::CONSTRAINTS,
        super::users::CONSTRAINTS,
        super::customers::CONSTRAINTS,
        super::reports::CONSTRAINTS,
    ]
    .into_iter()
    .flatten()
}

/// The problem for a violation, if its constraint is listed.
pub(crate) fn problem_for(violation: &Violation) -> Option<AppError> {
    let name = violation.constraint();
    let meaning = rules().find_map(|rule| match (rule, violation) {
        (Rule::Unique(n, meaning), Violation::Unique(_)) | (Rule::Check(n, meaning), Violation::Check(_))
            if *n == name =>
        {
            Some(*meaning)
        }
        (Rule::ForeignKey { name: n, missing, .. }, Violation::MissingReference(_)) if *n == name => Some(*missing),
        (Rule::ForeignKey { name: n, in_use: Some(in_use), .. }, Violation::StillReferenced(_)) if *n == name => {
            Some(*in_use)
        }
        _ => None,
    })?;
    Some(match meaning {
        Meaning::Conflict { code, field, message } => AppError::conflict(code, field, message),
        Meaning::Invalid { field, code, message } => AppError::Validation(vec![FieldIssue::new(field, code, message)]),
        Meaning::Length { field, min, max } => {
            let message = match min {
                0 => format!("must be at most {max} characters long"),
                _ => format!("must be {min} to {max} characters long"),
            };
            AppError::Validation(vec![FieldIssue::new(field, "invalid_length", message)])
        }
        Meaning::Gone { resource } => AppError::NotFound { resource, id: "referenced by this request".into() },
        Meaning::Invariant => {
            AppError::Internal(anyhow::anyhow!("constraint {name} was violated: a rule the code enforces was broken"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constraint_is_listed_once() {
        let mut names: Vec<&str> = rules().map(Rule::name).collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total, "a constraint is listed twice");
    }

    #[test]
    fn the_two_sides_of_a_foreign_key_mean_different_things() {
        let missing = problem_for(&Violation::MissingReference("orders_client_id_fkey".into()));
        assert!(matches!(missing, Some(AppError::Validation(_))));
        let in_use = problem_for(&Violation::StillReferenced("orders_client_id_fkey".into()));
        assert!(matches!(in_use, Some(AppError::Conflict { code: "client_in_use", .. })));
        assert!(problem_for(&Violation::Check("no_such_constraint".into())).is_none());
    }
}
