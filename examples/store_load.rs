//! Load generator for `scripts/bench.sh people`: customers signing in, browsing and enrolling
//! (each request of its own customer, which oha cannot do), over `connections` keep-alive
//! HTTP/1.1 connections. Prints latency percentiles and statuses per kind of request.
//!
//!     store_load rush <host:port> <emails> <password> <publishable key> <workshop> <connections> presigned|signin
//!     store_load flood <host:port> <emails> <password> <connections> <seconds>
//!
//! `rush presigned`: every customer signs in first (not measured), then each enrolls in the
//! workshop once. `rush signin`: each customer signs in, reads the store's products and enrolls,
//! so the enrollments run while sign-ins hash passwords. `flood`: sign-ins, round the customers,
//! for `seconds`.

#[path = "common/http1.rs"]
mod http1;
use http1::read_response;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(Default)]
struct Measured {
    latencies: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
}

struct Shared {
    addr: String,
    emails: Vec<String>,
    password: String,
    publishable: String,
    workshop: String,
    /// Access tokens of `presigned` runs, by customer.
    tokens: Mutex<Vec<Option<String>>>,
    next: AtomicUsize,
    deadline: Option<Instant>,
    measured: Mutex<BTreeMap<&'static str, Measured>>,
}

type Conn = BufReader<TcpStream>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: store_load rush <host:port> <emails> <password> <publishable key> <workshop> <connections> presigned|signin\n       store_load flood <host:port> <emails> <password> <connections> <seconds>";
    let arg = |i: usize| {
        args.get(i).cloned().unwrap_or_else(|| {
            eprintln!("{usage}");
            std::process::exit(2)
        })
    };
    let mode = arg(0);
    let emails: Vec<String> = std::fs::read_to_string(arg(2))?.lines().map(str::to_string).collect();
    let (connections, deadline, publishable, workshop, presigned) = match mode.as_str() {
        "rush" => (arg(6).parse().expect("connections"), None, arg(4), arg(5), arg(7) == "presigned"),
        "flood" => {
            let seconds: u64 = arg(5).parse().expect("seconds");
            (
                arg(4).parse().expect("connections"),
                Some(Instant::now() + Duration::from_secs(seconds)),
                String::new(),
                String::new(),
                false,
            )
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2)
        }
    };
    let shared = Arc::new(Shared {
        addr: arg(1),
        tokens: Mutex::new(vec![None; emails.len()]),
        emails,
        password: arg(3),
        publishable,
        workshop,
        next: AtomicUsize::new(0),
        deadline,
        measured: Mutex::new(BTreeMap::new()),
    });
    if presigned {
        // Every customer signed in before the rush (their sign-ins are not part of it).
        run(&shared, connections, |shared, conn, i| {
            Box::pin(async move {
                let token = sign_in(&shared, conn, i, "presign").await?;
                shared.tokens.lock().expect("tokens")[i] = token;
                Ok(())
            })
        })
        .await?;
        shared.next.store(0, Ordering::SeqCst);
        shared.measured.lock().expect("measured").clear();
    }
    let started = Instant::now();
    match (mode.as_str(), presigned) {
        ("rush", true) => {
            run(&shared, connections, |shared, conn, i| {
                Box::pin(async move {
                    let token = shared.tokens.lock().expect("tokens")[i].clone();
                    enroll(&shared, conn, token.as_deref()).await
                })
            })
            .await?
        }
        ("rush", false) => {
            run(&shared, connections, |shared, conn, i| {
                Box::pin(async move {
                    let token = sign_in(&shared, conn, i, "sign-in").await?;
                    let browse = format!(
                        "GET /api/v1/store/products?limit=20 HTTP/1.1\r\nHost: {}\r\nX-Publishable-Key: {}\r\n\r\n",
                        shared.addr, shared.publishable
                    );
                    timed(&shared, conn, "browse", browse).await?;
                    enroll(&shared, conn, token.as_deref()).await
                })
            })
            .await?
        }
        _ => {
            run(&shared, connections, |shared, conn, i| {
                Box::pin(async move { sign_in(&shared, conn, i % shared.emails.len(), "sign-in").await.map(drop) })
            })
            .await?
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    for (kind, measured) in shared.measured.lock().expect("measured").iter_mut() {
        measured.latencies.sort();
        let n = measured.latencies.len();
        let at = |q: f64| measured.latencies.get(((n as f64 * q) as usize).min(n.saturating_sub(1)));
        let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        println!(
            "{kind}: requests: {n}, elapsed: {elapsed:.2} s, requests/s: {:.1}, p50: {:.2} ms, p99: {:.2} ms, max: {:.2} ms, statuses: {:?}",
            n as f64 / elapsed,
            ms(at(0.5)),
            ms(at(0.99)),
            ms(measured.latencies.last()),
            measured.statuses,
        );
    }
    Ok(())
}

type Step = for<'a> fn(
    Arc<Shared>,
    &'a mut Conn,
    usize,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>>;

/// `connections` workers, each on its own connection, taking customers in turn (for ever when a
/// deadline is set, else once each).
async fn run(shared: &Arc<Shared>, connections: usize, step: Step) -> std::io::Result<()> {
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let shared = shared.clone();
            tokio::spawn(async move {
                let stream = TcpStream::connect(&shared.addr).await?;
                stream.set_nodelay(true)?;
                let mut conn = BufReader::new(stream);
                loop {
                    let index = shared.next.fetch_add(1, Ordering::Relaxed);
                    let done = match shared.deadline {
                        Some(deadline) => Instant::now() >= deadline,
                        None => index >= shared.emails.len(),
                    };
                    if done {
                        return Ok::<(), std::io::Error>(());
                    }
                    step(shared.clone(), &mut conn, index).await?;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker")?;
    }
    Ok(())
}

async fn sign_in(
    shared: &Shared,
    conn: &mut Conn,
    index: usize,
    kind: &'static str,
) -> std::io::Result<Option<String>> {
    let body =
        format!(r#"{{"email": "{}", "password": "{}", "device": "bench"}}"#, shared.emails[index], shared.password);
    let request = post(shared, "/api/v1/store/auth/sign-in", None, &body);
    let reply = timed(shared, conn, kind, request).await?;
    let text = String::from_utf8_lossy(&reply);
    Ok(text.split("\"access_token\":\"").nth(1).and_then(|rest| rest.split('"').next()).map(str::to_string))
}

async fn enroll(shared: &Shared, conn: &mut Conn, token: Option<&str>) -> std::io::Result<()> {
    let body = format!(r#"{{"workshop_id": "{}"}}"#, shared.workshop);
    let request = post(shared, "/api/v1/store/me/enrollments", token, &body);
    timed(shared, conn, "enroll", request).await.map(drop)
}

fn post(shared: &Shared, path: &str, token: Option<&str>, body: &str) -> String {
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\n{authorization}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        shared.addr,
        body.len()
    )
}

/// Sends the request, records its latency and status under `kind`, answers the body.
async fn timed(shared: &Shared, conn: &mut Conn, kind: &'static str, request: String) -> std::io::Result<Vec<u8>> {
    let sent = Instant::now();
    conn.get_mut().write_all(request.as_bytes()).await?;
    let (status, body) = read_response(conn).await?;
    let took = sent.elapsed();
    let mut measured = shared.measured.lock().expect("measured");
    let entry = measured.entry(kind).or_default();
    entry.latencies.push(took);
    *entry.statuses.entry(status).or_default() += 1;
    Ok(body)
}
