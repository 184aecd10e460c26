//! Load generator for `scripts/bench.sh payments`: POSTs one payment per line of a body file,
//! each with a fresh `Idempotency-Key` (which oha cannot vary per request), over `connections`
//! keep-alive HTTP/1.1 connections, for at most `seconds`; prints requests/s, latency
//! percentiles and the statuses seen. `API_KEY` (an API key) is sent as a bearer token.
//!
//!     cargo run --release --example pay_load -- 127.0.0.1:18090 bodies.txt 64 20

#[path = "common/http1.rs"]
mod http1;
use http1::read_response;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

struct Shared {
    addr: String,
    bodies: Vec<String>,
    next: AtomicUsize,
    deadline: Instant,
    latencies: Mutex<Vec<Duration>>,
    statuses: Mutex<BTreeMap<u16, usize>>,
    /// `Authorization: Bearer …\r\n` when `API_KEY` is set.
    authorization: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: pay_load <host:port> <bodies file> <connections> <seconds>";
    let (Some(addr), Some(file), Some(connections), Some(seconds)) =
        (args.get(1), args.get(2), args.get(3), args.get(4))
    else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let bodies: Vec<String> = std::fs::read_to_string(file)?.lines().map(str::to_string).collect();
    let connections: usize = connections.parse().expect("connections");
    let seconds: u64 = seconds.parse().expect("seconds");
    let started = Instant::now();
    let shared = Arc::new(Shared {
        addr: addr.clone(),
        bodies,
        next: AtomicUsize::new(0),
        deadline: started + Duration::from_secs(seconds),
        latencies: Mutex::new(Vec::new()),
        statuses: Mutex::new(BTreeMap::new()),
        authorization: std::env::var("API_KEY")
            .map(|key| format!("Authorization: Bearer {key}\r\n"))
            .unwrap_or_default(),
    });
    let workers: Vec<_> = (0..connections).map(|_| tokio::spawn(worker(shared.clone()))).collect();
    for worker in workers {
        worker.await.expect("worker")?;
    }
    let elapsed = started.elapsed();
    let mut latencies = shared.latencies.lock().expect("latencies").clone();
    latencies.sort();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "requests: {}, elapsed: {:.2} s, requests/s: {:.1}, p50: {:.2} ms, p99: {:.2} ms, max: {:.2} ms, statuses: {:?}",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(latencies.last()),
        shared.statuses.lock().expect("statuses"),
    );
    Ok(())
}

async fn worker(shared: Arc<Shared>) -> std::io::Result<()> {
    let stream = TcpStream::connect(&shared.addr).await?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    loop {
        let index = shared.next.fetch_add(1, Ordering::Relaxed);
        if index >= shared.bodies.len() || Instant::now() >= shared.deadline {
            return Ok(());
        }
        let body = &shared.bodies[index];
        let request = format!(
            "POST /api/v1/payments HTTP/1.1\r\nHost: {}\r\n{}Content-Type: application/json\r\nIdempotency-Key: bench-{}-{index}\r\nContent-Length: {}\r\n\r\n{body}",
            shared.addr,
            shared.authorization,
            std::process::id(),
            body.len()
        );
        let sent = Instant::now();
        stream.get_mut().write_all(request.as_bytes()).await?;
        let (status, _) = read_response(&mut stream).await?;
        shared.latencies.lock().expect("latencies").push(sent.elapsed());
        *shared.statuses.lock().expect("statuses").entry(status).or_default() += 1;
    }
}
