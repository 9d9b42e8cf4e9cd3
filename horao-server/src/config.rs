//! The daemon's configuration: command-line flags, each also an environment variable
//! `HORAO_…`, over an optional TOML file (`--config`). A flag or variable wins over the file.

use clap::Parser;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Flags of `horao-server`.
#[derive(Clone, Debug, Default, Parser)]
#[command(name = "horao-server", version, about = "The HORAO daemon")]
pub struct Flags {
    /// A TOML file with any of the settings below (keys as the flags, with `_`).
    #[arg(long, env = "HORAO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7600].
    #[arg(long, env = "HORAO_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory of the embedded store [default: ./horao-data].
    #[arg(long, env = "HORAO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use Redis at this URL (`redis://HOST:PORT/DB`) instead of the embedded store.
    #[arg(long, env = "HORAO_REDIS")]
    pub redis: Option<String>,
    /// With `--redis`: this server's node name. Servers that share one Redis database keep
    /// one model, each under its own node name [default: the host name].
    #[arg(long, env = "HORAO_REDIS_NODE")]
    pub redis_node: Option<String>,
    /// This replica's id [default: generated once and kept in the store].
    #[arg(long, env = "HORAO_REPLICA_ID")]
    pub replica_id: Option<u64>,
    /// A peer to gossip with, `ws://HOST:PORT/api/v1/gossip` (repeatable).
    #[arg(long = "peer", env = "HORAO_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// The secret peers share: needed to dial peers and to accept them.
    #[arg(long, env = "HORAO_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
    /// A peer token (minted on the peers with `{"role": "peer"}`) to dial them with, instead
    /// of the cluster secret.
    #[arg(long, env = "HORAO_PEER_TOKEN", hide_env_values = true)]
    pub peer_token: Option<String>,
    /// A PEM bundle of the certificates that `wss://` peers are trusted by (a private CA or
    /// a peer's self-signed certificate) [default: Mozilla's roots].
    #[arg(long, env = "HORAO_PEER_CA_CERT")]
    pub peer_ca_cert: Option<PathBuf>,
    /// Anti-entropy interval, e.g. `5s` or `500ms` [default: 5s].
    #[arg(long, env = "HORAO_GOSSIP_INTERVAL", value_parser = parse_duration)]
    pub gossip_interval: Option<Duration>,
    /// Ping interval of gossip connections; a peer that does not answer is dropped within
    /// two [default: 5s].
    #[arg(long, env = "HORAO_GOSSIP_PING_INTERVAL", value_parser = parse_duration)]
    pub gossip_ping_interval: Option<Duration>,
    /// Largest gossip message in bytes; larger ones travel in chunks [default: 1048576].
    #[arg(long, env = "HORAO_GOSSIP_MAX_MESSAGE")]
    pub gossip_max_message: Option<usize>,
    /// TLS certificate chain (PEM); with `--tls-key`, serve HTTPS.
    #[arg(long, env = "HORAO_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "HORAO_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Largest request body in bytes [default: 1048576].
    #[arg(long, env = "HORAO_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// Longest request in seconds [default: 30].
    #[arg(long, env = "HORAO_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Embedded store: one transaction and fsync per write instead of group commit (for
    /// benchmarks; slower, no safer).
    #[arg(long, env = "HORAO_NO_GROUP_COMMIT")]
    pub no_group_commit: bool,
    /// Watchers get a progress frame this often, e.g. `5s` [default: 5s].
    #[arg(long, env = "HORAO_WATCH_PROGRESS_INTERVAL", value_parser = parse_duration)]
    pub watch_progress_interval: Option<Duration>,
    /// Bytes of recent changes kept for watchers to resume from [default: 67108864].
    #[arg(long, env = "HORAO_WATCH_HISTORY_BYTES")]
    pub watch_history_bytes: Option<usize>,
    /// Most watchers at once [default: 1024].
    #[arg(long, env = "HORAO_WATCH_MAX")]
    pub watch_max: Option<usize>,
    /// With `--redis`: the event stream `horao:events` is trimmed to about this many
    /// events [default: 100000].
    #[arg(long, env = "HORAO_EVENTS_MAXLEN")]
    pub events_maxlen: Option<usize>,
}

/// The TOML file: the same settings as the flags.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    /// See [`Flags::listen`].
    pub listen: Option<SocketAddr>,
    /// See [`Flags::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Flags::redis`].
    pub redis: Option<String>,
    /// See [`Flags::redis_node`].
    pub redis_node: Option<String>,
    /// See [`Flags::replica_id`].
    pub replica_id: Option<u64>,
    /// See [`Flags::peers`].
    #[serde(default)]
    pub peers: Vec<String>,
    /// See [`Flags::cluster_secret`].
    pub cluster_secret: Option<String>,
    /// See [`Flags::peer_token`].
    pub peer_token: Option<String>,
    /// See [`Flags::peer_ca_cert`].
    pub peer_ca_cert: Option<PathBuf>,
    /// See [`Flags::gossip_interval`] (`"5s"`, `"500ms"`).
    pub gossip_interval: Option<String>,
    /// See [`Flags::gossip_ping_interval`].
    pub gossip_ping_interval: Option<String>,
    /// See [`Flags::gossip_max_message`].
    pub gossip_max_message: Option<usize>,
    /// See [`Flags::tls_cert`].
    pub tls_cert: Option<PathBuf>,
    /// See [`Flags::tls_key`].
    pub tls_key: Option<PathBuf>,
    /// See [`Flags::body_limit`].
    pub body_limit: Option<usize>,
    /// See [`Flags::request_timeout`].
    pub request_timeout: Option<u64>,
    /// See [`Flags::no_group_commit`].
    pub no_group_commit: Option<bool>,
    /// See [`Flags::watch_progress_interval`] (`"5s"`).
    pub watch_progress_interval: Option<String>,
    /// See [`Flags::watch_history_bytes`].
    pub watch_history_bytes: Option<usize>,
    /// See [`Flags::watch_max`].
    pub watch_max: Option<usize>,
    /// See [`Flags::events_maxlen`].
    pub events_maxlen: Option<usize>,
}

/// The settings in force.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory of the embedded store.
    pub data_dir: PathBuf,
    /// Redis URL, when Redis is the store.
    pub redis: Option<String>,
    /// This server's node name in Redis.
    pub redis_node: String,
    /// Replica id, when given.
    pub replica_id: Option<u64>,
    /// Gossip peers.
    pub peers: Vec<String>,
    /// Cluster secret.
    pub cluster_secret: Option<String>,
    /// Peer token to dial with.
    pub peer_token: Option<String>,
    /// CA bundle for `wss://` peers.
    pub peer_ca_cert: Option<PathBuf>,
    /// Anti-entropy interval.
    pub gossip_interval: Duration,
    /// Ping interval of gossip connections.
    pub gossip_ping_interval: Duration,
    /// Largest gossip message.
    pub gossip_max_message: usize,
    /// TLS certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Largest request body.
    pub body_limit: usize,
    /// Longest request.
    pub request_timeout: Duration,
    /// Group commit in the embedded store.
    pub group_commit: bool,
    /// Progress frames of the watch feed.
    pub watch_progress_interval: Duration,
    /// Bytes of the watch history.
    pub watch_history_bytes: usize,
    /// Most watchers.
    pub watch_max: usize,
    /// Length the event stream is trimmed to.
    pub events_maxlen: usize,
}

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// The settings of `flags` over the file they name.
    pub fn resolve(flags: Flags) -> Result<Self, ConfigError> {
        let file = match &flags.config {
            None => File::default(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.clone(),
                    source,
                })?
            }
        };
        let tls = match (
            flags.tls_cert.or(file.tls_cert),
            flags.tls_key.or(file.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "give tls_cert and tls_key together".into(),
                ));
            }
        };
        let body_limit = flags.body_limit.or(file.body_limit).unwrap_or(1 << 20);
        let timeout = flags.request_timeout.or(file.request_timeout).unwrap_or(30);
        if body_limit == 0 || timeout == 0 {
            return Err(ConfigError::Invalid(
                "body_limit and request_timeout must be positive".into(),
            ));
        }
        let file_duration = |v: Option<String>| -> Result<Option<Duration>, ConfigError> {
            v.map(|s| parse_duration(&s).map_err(ConfigError::Invalid))
                .transpose()
        };
        let gossip_interval = match flags.gossip_interval {
            Some(d) => d,
            None => file_duration(file.gossip_interval)?.unwrap_or(Duration::from_secs(5)),
        };
        let gossip_ping_interval = match flags.gossip_ping_interval {
            Some(d) => d,
            None => file_duration(file.gossip_ping_interval)?.unwrap_or(Duration::from_secs(5)),
        };
        let gossip_max_message = flags
            .gossip_max_message
            .or(file.gossip_max_message)
            .unwrap_or(1 << 20);
        if gossip_interval.is_zero() || gossip_ping_interval.is_zero() || gossip_max_message < 4096
        {
            return Err(ConfigError::Invalid(
                "gossip intervals must be positive and gossip_max_message at least 4096".into(),
            ));
        }
        let watch_progress_interval = match flags.watch_progress_interval {
            Some(d) => d,
            None => file_duration(file.watch_progress_interval)?.unwrap_or(Duration::from_secs(5)),
        };
        let watch_history_bytes = flags
            .watch_history_bytes
            .or(file.watch_history_bytes)
            .unwrap_or(64 << 20);
        let watch_max = flags.watch_max.or(file.watch_max).unwrap_or(1024);
        let events_maxlen = flags
            .events_maxlen
            .or(file.events_maxlen)
            .unwrap_or(100_000);
        if watch_progress_interval.is_zero() || watch_history_bytes == 0 || events_maxlen == 0 {
            return Err(ConfigError::Invalid(
                "watch_progress_interval, watch_history_bytes and events_maxlen must be positive"
                    .into(),
            ));
        }
        let peers = if flags.peers.is_empty() {
            file.peers
        } else {
            flags.peers
        };
        let cluster_secret = flags.cluster_secret.or(file.cluster_secret);
        let peer_token = flags.peer_token.or(file.peer_token);
        if !peers.is_empty() && cluster_secret.is_none() && peer_token.is_none() {
            return Err(ConfigError::Invalid(
                "peers need a cluster secret (--cluster-secret) or a peer token (--peer-token)"
                    .into(),
            ));
        }
        let redis_node = flags
            .redis_node
            .or(file.redis_node)
            .unwrap_or_else(crate::store::redis_node::hostname);
        crate::store::redis_node::check_name(&redis_node)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        Ok(Config {
            listen: flags
                .listen
                .or(file.listen)
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 7600))),
            data_dir: flags
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./horao-data")),
            redis: flags.redis.or(file.redis),
            redis_node,
            replica_id: flags.replica_id.or(file.replica_id),
            peers,
            cluster_secret,
            peer_token,
            peer_ca_cert: flags.peer_ca_cert.or(file.peer_ca_cert),
            gossip_interval,
            gossip_ping_interval,
            gossip_max_message,
            tls,
            body_limit,
            request_timeout: Duration::from_secs(timeout),
            group_commit: !(flags.no_group_commit || file.no_group_commit.unwrap_or(false)),
            watch_progress_interval,
            watch_history_bytes,
            watch_max,
            events_maxlen,
        })
    }
}

/// Parses a duration: a number with a unit `ms`, `s` or `m` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (like 5s or 500ms)"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        u => return Err(format!("unknown unit {u:?} in {s:?} (use ms, s or m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| format!("{s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_and_file() {
        let c = Config::resolve(Flags::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7600");
        assert_eq!(c.data_dir, PathBuf::from("./horao-data"));
        assert_eq!(c.body_limit, 1 << 20);
        assert_eq!(c.gossip_interval, Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("2h").is_err());
        let flags = Flags {
            peers: vec!["ws://127.0.0.1:1/api/v1/gossip".into()],
            ..Flags::default()
        };
        assert!(
            matches!(Config::resolve(flags), Err(ConfigError::Invalid(_))),
            "peers without a secret"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("horao.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:8000\"\nbody_limit = 10\n").unwrap();
        let flags = Flags {
            config: Some(path.clone()),
            body_limit: Some(20),
            ..Flags::default()
        };
        let c = Config::resolve(flags).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:8000");
        assert_eq!(c.body_limit, 20, "a flag wins over the file");
        std::fs::write(&path, "nonsense = 1\n").unwrap();
        let flags = Flags {
            config: Some(path),
            ..Flags::default()
        };
        assert!(matches!(
            Config::resolve(flags),
            Err(ConfigError::Parse { .. })
        ));
    }
}
