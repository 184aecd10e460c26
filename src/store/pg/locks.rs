//! Every PostgreSQL advisory lock key the service takes, in one place, so that no two uses share
//! one by accident (a unit test checks they differ).

/// Held while migrations and the replaceable schema are applied: replicas starting together
/// apply them once.
pub const MIGRATIONS: i64 = 7_262_002;
/// The singleton jobs (`app::jobs::Job`), one each.
pub const RECONCILE: i64 = 7_262_101;
pub const CLIENT_STATS: i64 = 7_262_102;
pub const BILLING: i64 = 7_262_103;
pub const ROLLUP: i64 = 7_262_104;
/// Held by the sequencer while it numbers a batch (transaction-level).
pub const SEQUENCER: i64 = 7_262_201;
/// Held by the one replica that relays events to NATS.
pub const NATS_RELAY: i64 = 7_262_301;

#[cfg(test)]
mod tests {
    #[test]
    fn every_lock_has_a_key_of_its_own() {
        let keys = [
            super::MIGRATIONS,
            super::RECONCILE,
            super::CLIENT_STATS,
            super::BILLING,
            super::ROLLUP,
            super::SEQUENCER,
            super::NATS_RELAY,
        ];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
    }
}
