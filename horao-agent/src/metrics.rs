//! The agent's Prometheus metrics, in the text exposition format, served on `GET /metrics`
//! by one small std thread.
//!
//! Hand-rolled rather than the prometheus-client crate: a dozen series, one reader, and the
//! format is a few lines of text; a registry and its types would add a dependency and buy
//! nothing here. The agent updates the figures after each pass; the thread renders them on
//! each scrape.

use crate::command::Latency;
use crate::report::{PassReport, State};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Default)]
struct Figures {
    passes: u64,
    blocked_passes: u64,
    changes: u64,
    failing: BTreeMap<&'static str, u64>,
    failures_total: BTreeMap<&'static str, u64>,
    latencies: BTreeMap<String, Latency>,
    last_report_unix: Option<Duration>,
    report_errors: u64,
    server_reachable: bool,
    feed_connected: bool,
    feed_resyncs: u64,
    feed_records: u64,
    feed_cursor: Option<u64>,
    rest_volume_listings: u64,
    rest_image_listings: u64,
}

/// What a listing through the REST API listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestListing {
    /// The volumes assigned to this machine (`GET /api/v1/volumes`).
    Volumes,
    /// The images (`GET /api/v1/images`).
    Images,
}

/// The figures, shared between the loop and the metrics thread.
#[derive(Debug, Default)]
pub struct Metrics {
    figures: Mutex<Figures>,
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

impl Metrics {
    fn lock(&self) -> MutexGuard<'_, Figures> {
        self.figures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a pass and the btrfs command latencies so far.
    pub fn record_pass(&self, report: &PassReport, latencies: BTreeMap<String, Latency>) {
        let mut f = self.lock();
        f.passes += 1;
        f.blocked_passes += u64::from(report.blocked.is_some());
        f.changes += u64::from(report.changes);
        f.failing.clear();
        for v in &report.volumes {
            if let State::Failed { class, .. } = &v.state {
                *f.failing.entry(class.name()).or_default() += 1;
                *f.failures_total.entry(class.name()).or_default() += 1;
            }
        }
        f.latencies = latencies;
    }

    /// Records a report the server accepted, at `unix` (time since the Unix epoch).
    pub fn record_report(&self, unix: Duration) {
        let mut f = self.lock();
        f.last_report_unix = Some(unix);
        f.server_reachable = true;
    }

    /// Records a request to the server that failed.
    pub fn record_server_error(&self) {
        let mut f = self.lock();
        f.report_errors += 1;
        f.server_reachable = false;
    }

    /// Records the watch feed opening (`true`) or closing.
    pub fn record_feed_connected(&self, connected: bool) {
        self.lock().feed_connected = connected;
    }

    /// Records `n` records applied from the watch feed, and its cursor.
    pub fn record_feed_records(&self, n: u64, cursor: Option<u64>) {
        let mut f = self.lock();
        f.feed_records += n;
        if cursor.is_some() {
            f.feed_cursor = cursor;
        }
    }

    /// Records a complete listing through the REST API made while following the watch feed
    /// (the fallback while the feed is down, or before it is whole).
    pub fn record_rest_listing(&self, kind: RestListing) {
        let mut f = self.lock();
        match kind {
            RestListing::Volumes => f.rest_volume_listings += 1,
            RestListing::Images => f.rest_image_listings += 1,
        }
    }

    /// Records a resync the watch feed asked for.
    pub fn record_feed_resync(&self) {
        self.lock().feed_resyncs += 1;
    }

    /// The text exposition of every figure.
    pub fn render(&self) -> String {
        let f = self.lock();
        let mut out = String::new();
        let p = "horao_agent";
        let counters = [
            ("reconcile_passes_total", "Reconcile passes run.", f.passes),
            (
                "reconcile_blocked_passes_total",
                "Passes that could not reconcile (filesystem not usable).",
                f.blocked_passes,
            ),
            (
                "reconcile_changes_total",
                "Changes made by passes.",
                f.changes,
            ),
            (
                "server_errors_total",
                "Requests to the server that failed after their retries.",
                f.report_errors,
            ),
            (
                "watch_resyncs_total",
                "Resyncs the watch feed asked for (a snapshot replaced the desired volumes).",
                f.feed_resyncs,
            ),
            (
                "watch_records_total",
                "Volume and image records applied from the watch feed (snapshots included).",
                f.feed_records,
            ),
        ];
        for (name, help, value) in counters {
            family(&mut out, &format!("{p}_{name}"), "counter", help);
            let _ = writeln!(out, "{p}_{name} {value}");
        }
        let by_class = [
            (
                "volumes_failing",
                "gauge",
                "Volumes failing in the last pass, by error class.",
                &f.failing,
            ),
            (
                "volume_failures_total",
                "counter",
                "Failed volumes summed over passes, by error class.",
                &f.failures_total,
            ),
        ];
        for (name, kind, help, values) in by_class {
            family(&mut out, &format!("{p}_{name}"), kind, help);
            for (class, n) in values {
                let _ = writeln!(out, "{p}_{name}{{class=\"{class}\"}} {n}");
            }
        }
        let name = format!("{p}_rest_listings_total");
        family(
            &mut out,
            &name,
            "counter",
            "Listings through the REST API made while following the watch feed (its fallback), by kind.",
        );
        for (kind, n) in [
            ("volumes", f.rest_volume_listings),
            ("images", f.rest_image_listings),
        ] {
            let _ = writeln!(out, "{name}{{kind=\"{kind}\"}} {n}");
        }
        let name = format!("{p}_btrfs_command_seconds");
        family(
            &mut out,
            &name,
            "summary",
            "Latency of btrfs-progs commands.",
        );
        for (cmd, l) in &f.latencies {
            let c = escape(cmd);
            let _ = writeln!(
                out,
                "{name}_sum{{command=\"{c}\"}} {}",
                l.total.as_secs_f64()
            );
            let _ = writeln!(out, "{name}_count{{command=\"{c}\"}} {}", l.count);
        }
        let name = format!("{p}_btrfs_command_failures_total");
        family(
            &mut out,
            &name,
            "counter",
            "btrfs-progs commands that failed.",
        );
        for (cmd, l) in &f.latencies {
            let _ = writeln!(out, "{name}{{command=\"{}\"}} {}", escape(cmd), l.failures);
        }
        let name = format!("{p}_last_report_timestamp_seconds");
        family(
            &mut out,
            &name,
            "gauge",
            "When the server last accepted a report (Unix time; 0: never).",
        );
        let last = f.last_report_unix.map_or(0.0, |d| d.as_secs_f64());
        let _ = writeln!(out, "{name} {last}");
        let name = format!("{p}_server_reachable");
        family(
            &mut out,
            &name,
            "gauge",
            "1 when the last request to the server succeeded.",
        );
        let _ = writeln!(out, "{name} {}", u8::from(f.server_reachable));
        let gauges = [
            (
                "watch_connected",
                "1 while the watch feed is open (0: polling the REST API).",
                u64::from(f.feed_connected),
            ),
            (
                "watch_cursor",
                "The last cursor of the watch feed (0: none yet).",
                f.feed_cursor.unwrap_or(0),
            ),
        ];
        for (name, help, value) in gauges {
            family(&mut out, &format!("{p}_{name}"), "gauge", help);
            let _ = writeln!(out, "{p}_{name} {value}");
        }
        out
    }
}

fn answer(metrics: &Metrics, mut stream: TcpStream) -> io::Result<()> {
    let mut line = String::new();
    let mut reader = BufReader::new(&stream);
    reader.read_line(&mut line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let (status, kind, body) = if line.starts_with("GET /metrics ") {
        ("200 OK", "text/plain; version=0.0.4", metrics.render())
    } else {
        (
            "404 Not Found",
            "text/plain",
            "not found: GET /metrics\n".to_owned(),
        )
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// Serves `metrics` on `listener` from a new thread, one connection at a time, until the
/// process exits.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // A short read timeout: a client that never sends cannot stall the thread.
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if let Err(e) = answer(&metrics, stream) {
                    tracing::debug!(%e, "metrics request");
                }
            }
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::error::ErrorClass;
    use crate::report::VolumeReport;
    use std::io::Read;

    fn failed(class: ErrorClass) -> VolumeReport {
        VolumeReport {
            id: "v".into(),
            name: "v".into(),
            state: State::Failed {
                class,
                message: "x".into(),
                retry_at_ms: 0,
            },
            subvolume_id: None,
            used_bytes: None,
            limit_bytes: None,
            read_only: None,
        }
    }

    #[test]
    fn figures_render_and_are_served() {
        let metrics = Arc::new(Metrics::default());
        let report = PassReport {
            volumes: vec![failed(ErrorClass::NoSpace), failed(ErrorClass::NoSpace)],
            changes: 3,
            ..PassReport::default()
        };
        let lat = || {
            BTreeMap::from([(
                "btrfs qgroup \"limit\"".to_owned(),
                Latency {
                    count: 4,
                    failures: 1,
                    total: Duration::from_millis(500),
                    max: Duration::from_millis(200),
                },
            )])
        };
        metrics.record_pass(&report, lat());
        metrics.record_pass(&PassReport::default(), BTreeMap::new());
        metrics.record_report(Duration::from_secs(1_700_000_000));
        metrics.record_feed_connected(true);
        metrics.record_feed_records(3, Some(41));
        metrics.record_feed_records(0, None);
        metrics.record_feed_resync();
        metrics.record_rest_listing(RestListing::Images);
        metrics.record_rest_listing(RestListing::Images);
        let text = metrics.render();
        for line in [
            "horao_agent_rest_listings_total{kind=\"volumes\"} 0",
            "horao_agent_rest_listings_total{kind=\"images\"} 2",
            "horao_agent_watch_connected 1",
            "horao_agent_watch_cursor 41",
            "horao_agent_watch_records_total 3",
            "horao_agent_watch_resyncs_total 1",
            "horao_agent_reconcile_passes_total 2",
            "horao_agent_reconcile_changes_total 3",
            "horao_agent_volume_failures_total{class=\"no-space\"} 2",
            "horao_agent_last_report_timestamp_seconds 1700000000",
            "horao_agent_server_reachable 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        // The second pass had no failures: the gauge has no series left.
        assert!(!text.contains("horao_agent_volumes_failing{"), "{text}");
        metrics.record_pass(&report, BTreeMap::new());
        assert!(
            metrics
                .render()
                .contains("horao_agent_volumes_failing{class=\"no-space\"} 2")
        );
        metrics.record_pass(&PassReport::default(), lat());
        let text = metrics.render();
        assert!(
            text.contains(
                "horao_agent_btrfs_command_seconds_sum{command=\"btrfs qgroup \\\"limit\\\"\"} 0.5"
            ),
            "{text}"
        );

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        serve(listener, Arc::clone(&metrics)).unwrap();
        let get = |path: &str| {
            let mut s = TcpStream::connect(addr).unwrap();
            write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
            let mut body = String::new();
            s.read_to_string(&mut body).unwrap();
            body
        };
        let ok = get("/metrics");
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        assert!(ok.contains("horao_agent_reconcile_passes_total 4"), "{ok}");
        assert!(get("/other").starts_with("HTTP/1.1 404"));
    }
}
