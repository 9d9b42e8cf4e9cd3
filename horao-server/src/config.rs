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
    /// This replica's id [default: generated once and kept in the store].
    #[arg(long, env = "HORAO_REPLICA_ID")]
    pub replica_id: Option<u64>,
    /// A peer to gossip with (repeatable; kept for the gossip).
    #[arg(long = "peer", env = "HORAO_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// The secret peers share (kept for the gossip).
    #[arg(long, env = "HORAO_CLUSTER_SECRET", hide_env_values = true)]
    pub cluster_secret: Option<String>,
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
    /// See [`Flags::replica_id`].
    pub replica_id: Option<u64>,
    /// See [`Flags::peers`].
    #[serde(default)]
    pub peers: Vec<String>,
    /// See [`Flags::cluster_secret`].
    pub cluster_secret: Option<String>,
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
    /// Replica id, when given.
    pub replica_id: Option<u64>,
    /// Gossip peers.
    pub peers: Vec<String>,
    /// Cluster secret.
    pub cluster_secret: Option<String>,
    /// TLS certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Largest request body.
    pub body_limit: usize,
    /// Longest request.
    pub request_timeout: Duration,
    /// Group commit in the embedded store.
    pub group_commit: bool,
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
            replica_id: flags.replica_id.or(file.replica_id),
            peers: if flags.peers.is_empty() {
                file.peers
            } else {
                flags.peers
            },
            cluster_secret: flags.cluster_secret.or(file.cluster_secret),
            tls,
            body_limit,
            request_timeout: Duration::from_secs(timeout),
            group_commit: !(flags.no_group_commit || file.no_group_commit.unwrap_or(false)),
        })
    }
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
