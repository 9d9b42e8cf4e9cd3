//! `horao-agent`: the storage-host agent. Checks the filesystem, registers the machine with
//! the server, then follows the server's watch feed for the volumes assigned to it (polling
//! the REST API while the feed is unavailable, or always with `--no-watch`), reconciles them
//! when they change and every interval, and reports back, until SIGINT or SIGTERM (the pass
//! under way finishes first) or, with `--once`, after one pass (which polls). Every flag can
//! also be set through the environment variable shown by `--help`.

use anyhow::{Context, Result, bail};
use clap::Parser;
use horao_agent::daemon::{Daemon, Settings};
use horao_agent::metrics::{self, Metrics};
use horao_agent::persist::StateFile;
use horao_agent::server::retry::RetryPolicy;
use horao_agent::server::source::DesiredSource;
use horao_agent::server::{Client, Trust};
use horao_agent::watch::{Endpoint, FollowerSettings, WatchSource};
use horao_agent::{Config, RealBtrfs, preflight};
use horao_model::api::LabelMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::IsTerminal;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The default directory of the state file (systemd's `StateDirectory=horao-agent`).
const STATE_DIR: &str = "/var/lib/horao-agent";

/// The HORAO storage-host agent: makes this host's btrfs volumes match the server's.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// The server's base URL (`http://` or `https://`).
    #[arg(long, env = "HORAO_SERVER", default_value = "http://127.0.0.1:7600")]
    server: String,
    /// A PEM bundle of the CA certificates to trust for an `https://` server (default:
    /// Mozilla's roots).
    #[arg(long, env = "HORAO_CA_CERT")]
    ca_cert: Option<PathBuf>,
    /// An agent (or admin) token; prefer the environment variable (an env file).
    #[arg(long, env = "HORAO_TOKEN", hide_env_values = true)]
    token: String,
    /// The btrfs filesystem (or a directory on one) holding the volumes.
    #[arg(long, env = "HORAO_ROOT")]
    root: PathBuf,
    /// This machine's name on the server.
    #[arg(long, env = "HORAO_MACHINE")]
    machine: String,
    /// A label `key=value` (or a bare `key`) of this machine; repeatable (comma-separated in
    /// the environment).
    #[arg(long = "label", env = "HORAO_LABELS", value_delimiter = ',')]
    labels: Vec<String>,
    /// Where the last desired state is kept [default: /var/lib/horao-agent/<machine>.json].
    #[arg(long, env = "HORAO_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Seconds between reconcile passes.
    #[arg(long, env = "HORAO_INTERVAL", default_value_t = 10)]
    interval: u64,
    /// Seconds between refreshes of unchanged reports (changes go out at once).
    #[arg(long, env = "HORAO_REPORT_INTERVAL", default_value_t = 300)]
    report_interval: u64,
    /// Enable quotas when they are off (then wait for the rescan).
    #[arg(long, env = "HORAO_ENABLE_QUOTAS")]
    enable_quotas: bool,
    /// Delete subvolumes under the root that no desired volume names (off: only reported).
    #[arg(long, env = "HORAO_DELETE_ORPHANS")]
    delete_orphans: bool,
    /// Serve Prometheus metrics on GET /metrics at this address.
    #[arg(long, env = "HORAO_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Run one pass, then exit (non-zero when it was blocked or did not settle). Polls.
    #[arg(long, env = "HORAO_ONCE")]
    once: bool,
    /// Poll the REST API every interval instead of following the server's watch feed.
    #[arg(long, env = "HORAO_NO_WATCH")]
    no_watch: bool,
    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "HORAO_LOG", default_value = "info")]
    log: tracing::Level,
}

fn labels(raw: &[String]) -> LabelMap {
    raw.iter()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

fn seed(machine: &str) -> u64 {
    let mut h = DefaultHasher::new();
    (machine, std::process::id()).hash(&mut h);
    h.finish()
}

fn run(args: Args) -> Result<ExitCode> {
    let btrfs = RealBtrfs::default();
    if let Err(refusal) = preflight(&btrfs, &args.root, args.enable_quotas) {
        tracing::error!("refusing to reconcile {}: {refusal}", args.root.display());
        bail!("refusing to reconcile {}: {refusal}", args.root.display());
    }
    let state_path = args
        .state_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(STATE_DIR).join(format!("{}.json", args.machine)));
    if let Some(dir) = state_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
    }
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = args.metrics_listen {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("listening for metrics on {addr}"))?;
        metrics::serve(listener, Arc::clone(&metrics)).context("starting the metrics thread")?;
        tracing::info!(%addr, "serving metrics on GET /metrics");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, Arc::clone(&stop)).context("installing signals")?;
    }
    let trust = match &args.ca_cert {
        None => Trust::default(),
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading --ca-cert {}", path.display()))?;
            Trust::from_pem(&path.display().to_string(), &pem)?
        }
    };
    let seed = seed(&args.machine);
    let settings = Settings {
        machine: args.machine.clone(),
        labels: labels(&args.labels),
        interval: Duration::from_secs(args.interval.max(1)),
        report_interval: Duration::from_secs(args.report_interval.max(1)),
        delete_orphans: args.delete_orphans,
    };
    let client = |seed| {
        Client::with_trust(
            &args.server,
            &args.token,
            RetryPolicy::default(),
            seed,
            &trust,
        )
    };
    let parts = Parts {
        settings,
        config: Config::new(&args.root),
        btrfs,
        client: client(seed),
        state_file: StateFile::new(state_path),
        metrics: Arc::clone(&metrics),
    };
    let report = if args.once || args.no_watch {
        drive(parts, client(seed ^ 1), &stop, args.once)
    } else {
        let tls = trust.rustls_config()?;
        let source = WatchSource::new(
            client(seed ^ 1),
            Endpoint::new(&args.server, &args.token, &args.machine, tls),
            metrics,
            FollowerSettings::default(),
            seed ^ 2,
        );
        drive(parts, source, &stop, args.once)
    }
    .context("stopping: the server refused the agent")?;
    tracing::info!("stopped");
    Ok(
        if args.once && !(report.blocked.is_none() && report.settled()) {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// Everything the loop needs but its source.
struct Parts {
    settings: Settings,
    config: Config,
    btrfs: RealBtrfs,
    client: Client,
    state_file: StateFile,
    metrics: Arc<Metrics>,
}

/// Runs the loop with `source` until stopped (or once).
fn drive<S: DesiredSource>(
    p: Parts,
    source: S,
    stop: &AtomicBool,
    once: bool,
) -> Result<horao_agent::PassReport, horao_agent::server::ClientError> {
    let mut daemon = Daemon::new(
        p.settings,
        p.config,
        p.btrfs,
        source,
        p.client,
        p.state_file,
        p.metrics,
    );
    daemon.run(stop, once)
}

fn main() -> Result<ExitCode> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colours on a terminal only: journald stores the escape codes verbatim.
        .with_ansi(std::io::stderr().is_terminal())
        .with_max_level(args.log)
        .init();
    run(args)
}
