//! Plain types and rules: typed ids, enums, free-form document rules and pure merges.
//! No I/O and no web framework types here (serde/utoipa derives are descriptions, not runtime).

pub mod client;
pub mod free_form;
pub mod ids;
pub mod page;
pub mod view;
