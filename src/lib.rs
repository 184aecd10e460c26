//! Hybrid CRM: clients in PostgreSQL, their flexible info in MongoDB, one JSON REST API.
//! Layers (dependencies point downward): `http` → `app` → `store` → `domain`.

pub mod app;
pub mod config;
pub mod domain;
pub mod http;
pub mod outside;
pub mod store;
pub mod telemetry;
