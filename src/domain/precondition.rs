//! `If-Match` against a versioned resource (RFC 9110 §13.1.1). Entity tags are the version in
//! quotes (`"3"`); comparison is strong, so weak tags (`W/"3"`) never match.

/// What a write asks of the current version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`: the write applies to whatever version is current.
    #[default]
    Unconditional,
    /// `If-Match: *`: any current version.
    Any,
    /// The strong tags sent, as versions; a write applies only if one is current. Tags that are
    /// weak or not a version of this API are left out, so they never match.
    OneOf(Vec<i32>),
}

impl Precondition {
    pub fn allows(&self, current_version: i32) -> bool {
        match self {
            Precondition::Unconditional | Precondition::Any => true,
            Precondition::OneOf(versions) => versions.contains(&current_version),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_listed_version_matches() {
        assert!(Precondition::Unconditional.allows(3));
        assert!(Precondition::Any.allows(3));
        assert!(Precondition::OneOf(vec![2, 3]).allows(3));
        assert!(!Precondition::OneOf(vec![2]).allows(3));
        assert!(!Precondition::OneOf(vec![]).allows(3), "only weak or foreign tags were sent");
    }
}
