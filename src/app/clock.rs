//! The one clock. Every timestamp the service writes comes from here (never from PostgreSQL's
//! `now()`), at the precision of the store that keeps it, so what a write returns equals what a
//! later read returns.

use chrono::{DateTime, SubsecRound, Utc};

/// Now, at PostgreSQL's precision (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Now, at MongoDB's precision (milliseconds): for timestamps kept in documents.
pub fn now_millis() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}
