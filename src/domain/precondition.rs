//! `If-Match` against a tagged resource (RFC 9110 §13.1.1). An entity tag names one
//! representation: most resources are tagged by their row's `version`, which PostgreSQL bumps on
//! every update (`r.next_version`); comparison is strong, so weak tags (`W/"3"`) never match.

/// A resource whose writes can be conditional: its tag (without quotes) changes whenever its
/// representation does.
pub trait Tagged {
    fn tag(&self) -> String;
}

/// A bare version, for a write that locks only the columns it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version(pub i32);

impl Tagged for Version {
    fn tag(&self) -> String {
        self.0.to_string()
    }
}

/// What a write asks of the current representation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Precondition {
    /// No `If-Match`: the write applies to whatever is current.
    #[default]
    Unconditional,
    /// `If-Match: *`: any current representation.
    Any,
    /// The strong tags sent; a write applies only if one is current. Weak tags are left out, so
    /// they never match.
    OneOf(Vec<String>),
}

/// The precondition failed: `current` is the tag to reload and retry with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    pub current: String,
}

impl Precondition {
    pub fn allows(&self, current: &str) -> bool {
        match self {
            Precondition::Unconditional | Precondition::Any => true,
            Precondition::OneOf(tags) => tags.iter().any(|tag| tag == current),
        }
    }

    /// Checked on the resource as read under the lock its write takes.
    pub fn check(&self, resource: &impl Tagged) -> Result<(), Stale> {
        let current = resource.tag();
        if self.allows(&current) {
            Ok(())
        } else {
            Err(Stale { current })
        }
    }
}

/// Tags resources by their `version` column.
#[macro_export]
macro_rules! tagged_by_version {
    ($($resource:ty),+ $(,)?) => {
        $(impl $crate::domain::precondition::Tagged for $resource {
            fn tag(&self) -> String {
                self.version.to_string()
            }
        })+
    };
}

tagged_by_version!(
    super::catalog::Category,
    super::catalog::Product,
    super::client::Client,
    super::companies::Company,
    super::interests::Interest,
    super::coupons::Coupon,
    super::orders::Order,
    super::webhooks::WebhookEndpoint,
    super::users::User,
    super::customers::CustomerAccount,
);

/// A workshop's seats live in their own rows, which enrolling changes without touching the
/// workshop's (so enrollments do not queue on it): its tag is the version and the seats taken,
/// which together determine its representation.
impl Tagged for super::workshops::Workshop {
    fn tag(&self) -> String {
        format!("{}.{}", self.version, self.seats_taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Versioned(i32);
    impl Tagged for Versioned {
        fn tag(&self) -> String {
            self.0.to_string()
        }
    }

    #[test]
    fn only_a_listed_tag_matches() {
        let tags = |list: &[&str]| Precondition::OneOf(list.iter().map(|t| t.to_string()).collect());
        assert!(Precondition::Unconditional.allows("3"));
        assert!(Precondition::Any.allows("3"));
        assert!(tags(&["2", "3"]).allows("3"));
        assert!(!tags(&["2"]).allows("3"));
        assert!(!tags(&[]).allows("3"), "only weak tags were sent");
        assert_eq!(tags(&["2"]).check(&Versioned(3)), Err(Stale { current: "3".into() }));
        assert_eq!(tags(&["3"]).check(&Versioned(3)), Ok(()));
    }
}
