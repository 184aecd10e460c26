//! Command line: `serve` (default) | `migrate` | `seed` | `reconcile` | `rollup` | `openapi` | `api-key` |
//! `user`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use hybrid_crm::app::{access, jobs, reconcile, reports, seed, users, AppState};
use hybrid_crm::config::Settings;
use hybrid_crm::{http, telemetry};

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
        /// How many orders to have: 18 months of history in bulk, today's through the API's rules.
        #[arg(long, default_value_t = 5000)]
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
    /// Bring the daily report rollups up to date (the server does this every
    /// ROLLUP_INTERVAL_SECS), or rebuild them from a day on.
    Rollup {
        /// Recompute every day from this one (UTC, YYYY-MM-DD) on, not only the new and changed ones.
        #[arg(long)]
        from: Option<chrono::NaiveDate>,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Create, list and revoke API keys (the first admin key comes from here).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Create staff users and set their passwords (the first admin user comes from here).
    User {
        #[command(subcommand)]
        action: UserAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a staff user; the password is read from standard input (one line), so it never
    /// appears in a process list or a shell history.
    Create {
        /// What they sign in with.
        #[arg(long)]
        email: String,
        /// admin, manager, sales, inventory, support or readonly.
        #[arg(long)]
        role: String,
        /// Their name, as shown to other staff (the email when absent).
        #[arg(long)]
        name: Option<String>,
    },
    /// Set a staff user's password, read from standard input; their sessions end.
    SetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ApiKeyAction {
    /// Create a key and print its secret (only its hash is stored: it cannot be shown again).
    Create {
        /// What the key is for.
        #[arg(long)]
        name: String,
        /// admin, manager, sales, inventory, support or readonly.
        #[arg(long, conflicts_with = "scopes", required_unless_present_any = ["scopes", "origins"])]
        role: Option<String>,
        /// Comma-separated scopes for a key without a role (`clients:read,orders:write`).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// RFC 3339 instant after which the key stops working.
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// A publishable key (`hcrm_pk_…`, the storefront's catalog) for these comma-separated
        /// browser origins (`https://shop.example.com`), instead of a role or scopes.
        #[arg(long = "publishable-for", value_delimiter = ',', conflicts_with_all = ["role", "scopes"])]
        origins: Vec<String>,
    },
    /// List keys (newest first).
    List,
    /// Revoke a key by id.
    Revoke { id: uuid::Uuid },
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
            if state.sealer.is_none() {
                anyhow::bail!(
                    "WEBHOOK_SECRET_KEY is required to serve: random text of at least {} characters that seals \
                     webhook signing secrets (scripts/env.sh writes one into .env)",
                    hybrid_crm::app::sealed::MIN_KEY_CHARS
                );
            }
            if !no_migrate {
                migrate(&state).await?;
            }
            let resealed = hybrid_crm::app::webhooks::reseal_secrets(&state).await?;
            if resealed > 0 {
                tracing::info!(endpoints = resealed, "sealed webhook signing secrets stored in clear");
            }
            let workers = jobs::spawn(&state);
            http::serve(state, workers).await
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
        Command::Rollup { from } => {
            migrate(&state).await?;
            let started = std::time::Instant::now();
            let outcome = jobs::locked(&state, jobs::Job::Rollup, || reports::roll_up(&state, from))
                .await
                .map_err(|e| anyhow::anyhow!("rollup failed: {e}"))?
                .context("another process is rolling up right now; run it again when it has finished")?;
            println!(
                "rolled up {} days in {} ms (days before {} are settled)",
                outcome.days,
                started.elapsed().as_millis(),
                outcome.settled_before
            );
            Ok(())
        }
        Command::ApiKey { action } => {
            migrate(&state).await?;
            api_key(&state, action).await
        }
        Command::User { action } => {
            migrate(&state).await?;
            user(&state, action).await
        }
        Command::Openapi => unreachable!("handled before settings are read"),
    }
}

async fn api_key(state: &AppState, action: ApiKeyAction) -> anyhow::Result<()> {
    use hybrid_crm::domain::access::{KeyKind, NewApiKey, Role, Scope};
    use hybrid_crm::domain::ids::ApiKeyId;
    let failed = |err: hybrid_crm::app::AppError| anyhow::anyhow!("{err}: {err:?}");
    match action {
        ApiKeyAction::Create { name, role, scopes, expires_at, origins } => {
            let role = match role.as_deref() {
                None => Role::Custom,
                Some(text) => Role::parse(text).filter(|r| *r != Role::Custom).with_context(|| {
                    format!("{text:?} is not a role: admin, manager, sales, inventory, support, readonly")
                })?,
            };
            let scopes = scopes
                .iter()
                .map(|s| s.parse::<Scope>().map_err(|()| anyhow::anyhow!("{s:?} is not a scope (family:read|write)")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            if let Some(origin) = origins.iter().find(|o| !hybrid_crm::domain::access::is_origin(o)) {
                anyhow::bail!("{origin:?} is not an origin (scheme://host[:port], no path)");
            }
            let new = match origins.is_empty() {
                true => NewApiKey::secret(name, role, scopes, expires_at),
                false => NewApiKey {
                    kind: KeyKind::Publishable,
                    allowed_origins: origins,
                    ..NewApiKey::secret(name, role, scopes, expires_at)
                },
            };
            let create = access::create_key(state, new);
            let (key, secret) = access::audit_command(
                state,
                "create_api_key",
                "hybrid-crm api-key create",
                None,
                201,
                create,
                |made| made.0.id.to_string(),
            )
            .await
            .map_err(failed)?;
            eprintln!(
                "created API key {} ({}, {} key, role {}); keep the secret: it is not shown again",
                key.id,
                key.name,
                key.kind,
                key.role.as_str()
            );
            println!("{secret}");
        }
        ApiKeyAction::List => {
            let mut page = hybrid_crm::domain::page::PageRequest::first(100);
            loop {
                let found = access::list_keys(state, page.clone()).await.map_err(failed)?;
                for key in &found.items {
                    let state = if key.revoked_at.is_some() { "revoked" } else { "active" };
                    println!("{}  hcrm_…{}  {:<9}  {state:<7}  {}", key.id, key.last_four, key.role.as_str(), key.name);
                }
                match found.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
        }
        ApiKeyAction::Revoke { id } => {
            let revoke = access::revoke_key(state, ApiKeyId(id));
            let key = access::audit_command(
                state,
                "revoke_api_key",
                "hybrid-crm api-key revoke",
                Some(id.to_string()),
                200,
                revoke,
                |key| key.id.to_string(),
            )
            .await
            .map_err(failed)?;
            println!("revoked {} ({})", key.id, key.name);
        }
    }
    Ok(())
}

/// One line of standard input: a password.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!password.is_empty(), "no password on standard input (echo it, or pipe it from a file)");
    Ok(password)
}

async fn user(state: &AppState, action: UserAction) -> anyhow::Result<()> {
    use hybrid_crm::app::AppError;
    use hybrid_crm::domain::access::Role;
    use hybrid_crm::domain::users::NewUser;
    // Field problems as a person reads them (`password: is one of the most common passwords`).
    let failed = |err: AppError| match err {
        AppError::Validation(issues) => {
            let text: Vec<String> = issues.iter().map(|i| format!("{}: {}", i.field, i.message)).collect();
            anyhow::anyhow!("{}", text.join("; "))
        }
        other => anyhow::anyhow!("{other}"),
    };
    match action {
        UserAction::Create { email, role, name } => {
            let role = Role::parse(&role).filter(|r| *r != Role::Custom).with_context(|| {
                format!("{role:?} is not a role: admin, manager, sales, inventory, support, readonly")
            })?;
            let password = password_from_stdin()?;
            let new = NewUser { name: name.unwrap_or_else(|| email.clone()), email, role };
            let create = users::create(state, new, password);
            let user = access::audit_command(state, "create_user", "hybrid-crm user create", None, 201, create, |u| {
                u.id.to_string()
            })
            .await
            .map_err(failed)?;
            println!(
                "created user {} ({}, role {}): sign in at POST /api/v1/auth/sign-in",
                user.id,
                user.email,
                user.role.as_str()
            );
        }
        UserAction::SetPassword { email } => {
            let user = users::find_by_email(state, email.clone())
                .await
                .map_err(failed)?
                .with_context(|| format!("no user has the email {email}"))?;
            let password = password_from_stdin()?;
            let set = users::set_password(state, user.id, password);
            access::audit_command(
                state,
                "set_user_password",
                "hybrid-crm user set-password",
                Some(user.id.to_string()),
                204,
                set,
                |()| user.id.to_string(),
            )
            .await
            .map_err(failed)?;
            println!("set the password of {} ({}); their sessions have ended", user.id, user.email);
        }
    }
    Ok(())
}

async fn migrate(state: &AppState) -> anyhow::Result<()> {
    let applied = state.db.migrate().await.context("applying migrations")?;
    for name in applied {
        tracing::info!(migration = %name, "applied migration");
    }
    Ok(())
}
