//! Storage: PostgreSQL through diesel (`pg`) and the MongoDB client-info documents (`mongo`).

pub mod mongo;
pub mod pg;
