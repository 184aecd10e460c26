//! Command line: `serve` (default) | `migrate` | `seed` | `reconcile` | `openapi`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hybrid_crm::app::{jobs, reconcile, seed, AppState};
use hybrid_crm::config::Settings;
use hybrid_crm::{http, telemetry};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "hybrid-crm", version, about = "Hybrid CRM API server and tools")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (applies pending migrations first).
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending PostgreSQL migrations and ensure MongoDB indexes.
    Migrate,
    /// Load demo data (idempotent).
    Seed {
        /// How many clients to have.
        #[arg(long, default_value_t = 200)]
        clients: usize,
        /// How many products to have.
        #[arg(long, default_value_t = 60)]
        products: usize,
        /// How many orders to have (placed through the same rules as the API).
        #[arg(long, default_value_t = 300)]
        orders: usize,
        /// Empty both stores first.
        #[arg(long)]
        reset: bool,
    },
    /// Find clients without a MongoDB document and documents without a client, and repair them
    /// (the server also does this every RECONCILE_INTERVAL_SECS).
    Reconcile {
        /// Only report; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the OpenAPI document.
    Openapi,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve { no_migrate: false });
    if let Command::Openapi = command {
        println!("{}", serde_json::to_string_pretty(&http::openapi())?);
        return Ok(());
    }

    let settings = Settings::from_env().context("invalid configuration")?;
    telemetry::init(settings.log_format);
    let state = AppState::from_settings(settings).await?;

    match command {
        Command::Serve { no_migrate } => {
            if !no_migrate {
                migrate(&state).await?;
            }
            spawn_index_setup(state.clone());
            jobs::spawn(&state);
            http::serve(state).await
        }
        Command::Migrate => {
            migrate(&state).await?;
            state.info.ensure_indexes().await.context("creating MongoDB indexes")?;
            Ok(())
        }
        Command::Seed { clients, products, orders, reset } => {
            migrate(&state).await?;
            state.info.ensure_indexes().await.context("creating MongoDB indexes")?;
            let size = seed::SeedSize { clients, products, orders, reset };
            let report = seed::run(&state, size).await.map_err(|e| anyhow::anyhow!("seeding failed: {e}"))?;
            println!(
                "seeded: {} companies, {} interests, {} new clients (of {clients} requested), {} products, \
                 {} workshops, {} new orders (of {orders}), {} new enrollments",
                report.companies,
                report.interests,
                report.clients_added,
                report.products,
                report.workshops,
                report.orders_added,
                report.enrollments_added
            );
            Ok(())
        }
        Command::Reconcile { dry_run } => {
            let report =
                reconcile::run(&state, !dry_run).await.map_err(|e| anyhow::anyhow!("reconcile failed: {e}"))?;
            println!(
                "clients checked: {}; without a document: {}; documents without a client: {}; {}",
                report.clients_checked,
                report.clients_without_document,
                report.orphan_documents,
                if report.repaired { "repaired" } else { "dry run, nothing changed" }
            );
            for id in &report.missing_sample {
                println!("  client without a document: {id}");
            }
            for id in &report.orphan_sample {
                println!("  document without a client: {id}");
            }
            Ok(())
        }
        Command::Openapi => unreachable!("handled before settings are read"),
    }
}

async fn migrate(state: &AppState) -> anyhow::Result<()> {
    let applied = state.db.migrate().await.context("applying migrations")?;
    for name in applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(())
}

/// MongoDB may be down at start: the server still serves, and indexes are created once it answers.
fn spawn_index_setup(state: AppState) {
    tokio::spawn(async move {
        loop {
            match state.info.ensure_indexes().await {
                Ok(()) => break,
                Err(err) => {
                    tracing::warn!(error = %err, "MongoDB indexes not ensured yet; retrying in 5 s");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    });
}
