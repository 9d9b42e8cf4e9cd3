//! The one wrapper through which the agent runs external programs: arguments as a vector
//! (never a shell string), a timeout after which the child is killed, a tracing line per
//! command, latency statistics per subcommand, and failures classified into [`Error`].

use crate::classify::classify_stderr;
use crate::error::{Context, Error, Result};
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

/// What a command printed when it succeeded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error (btrfs-progs prints warnings there on success too).
    pub stderr: String,
}

/// Latency figures of one subcommand (for example `btrfs subvolume create`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Latency {
    /// Commands run.
    pub count: u64,
    /// Commands that failed (including timeouts).
    pub failures: u64,
    /// Sum of their wall-clock durations.
    pub total: Duration,
    /// The longest one.
    pub max: Duration,
}

/// Runs one program with per-call arguments; cheap to clone (the statistics are shared).
#[derive(Clone, Debug)]
pub struct Runner {
    program: PathBuf,
    timeout: Duration,
    stats: Arc<Mutex<BTreeMap<String, Latency>>>,
}

impl Runner {
    /// A runner for `program` (looked up in `PATH` unless it is a path) whose commands are
    /// killed after `timeout`.
    pub fn new(program: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self {
            program: program.into(),
            timeout,
            stats: Arc::default(),
        }
    }

    /// The program this runner starts.
    pub fn program(&self) -> &std::path::Path {
        &self.program
    }

    /// Runs the program with `args` under the runner's timeout.
    pub fn run<A: AsRef<OsStr>>(&self, args: &[A]) -> Result<Output> {
        self.run_with_timeout(args, self.timeout)
    }

    /// Runs the program with `args`, killing it after `timeout`. A non-zero exit is an error
    /// classified from the exit code and stderr.
    pub fn run_with_timeout<A: AsRef<OsStr>>(
        &self,
        args: &[A],
        timeout: Duration,
    ) -> Result<Output> {
        let args: Vec<OsString> = args.iter().map(|a| a.as_ref().to_owned()).collect();
        let line = self.command_line(&args);
        let started = Instant::now();
        let result = self.execute(&args, &line, timeout);
        let elapsed = started.elapsed();
        self.record(&args, elapsed, result.is_ok());
        match &result {
            Ok(_) => {
                tracing::debug!(command = %line, elapsed_us = elapsed.as_micros() as u64, "ran")
            }
            Err(err) => tracing::warn!(
                command = %line,
                elapsed_us = elapsed.as_micros() as u64,
                class = %err.class(),
                error = %err,
                "command failed"
            ),
        }
        result
    }

    /// Latency statistics per subcommand, keyed by the program's name and its first two
    /// arguments (`btrfs qgroup limit`).
    pub fn latencies(&self) -> BTreeMap<String, Latency> {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn command_line(&self, args: &[OsString]) -> String {
        let mut line = self.program.display().to_string();
        for arg in args {
            line.push(' ');
            line.push_str(&arg.to_string_lossy());
        }
        line
    }

    fn execute(&self, args: &[OsString], line: &str, timeout: Duration) -> Result<Output> {
        let spawn_error = |err: std::io::Error| {
            Error::Spawn(Context {
                operation: line.to_string(),
                code: None,
                detail: err.to_string(),
            })
        };
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(spawn_error)?;
        // Both pipes are drained on their own threads, so a child that prints more than a pipe
        // holds never blocks while we wait for it with a timeout.
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let status = match child.wait_timeout(timeout).map_err(spawn_error)? {
            Some(status) => status,
            None => {
                kill(&mut child);
                // The readers finish once the killed child's pipes close.
                let _ = join(stdout);
                let _ = join(stderr);
                return Err(Error::Timeout {
                    command: line.to_string(),
                    after: timeout,
                });
            }
        };
        let stdout = join(stdout);
        let stderr = join(stderr);
        if status.success() {
            return Ok(Output { stdout, stderr });
        }
        let code = status.code();
        let detail = stderr.trim().to_string();
        Err(Error::from_class(
            classify_stderr(code, &detail),
            Context {
                operation: line.to_string(),
                code,
                detail,
            },
        ))
    }

    fn record(&self, args: &[OsString], elapsed: Duration, ok: bool) {
        let name = self
            .program
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let key = args
            .iter()
            .take(2)
            .filter(|a| !a.to_string_lossy().starts_with('-'))
            .fold(name, |mut key, a| {
                key.push(' ');
                key.push_str(&a.to_string_lossy());
                key
            });
        let mut stats = self.stats.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = stats.entry(key).or_default();
        entry.count += 1;
        entry.failures += u64::from(!ok);
        entry.total += elapsed;
        entry.max = entry.max.max(elapsed);
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> Option<JoinHandle<String>> {
    let mut pipe = pipe?;
    Some(thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error leaves what was read so far; the exit status still decides success.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    }))
}

fn join(handle: Option<JoinHandle<String>>) -> String {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}

fn kill(child: &mut Child) {
    // The child may have exited between the timeout and the kill; either way it is reaped.
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_captures_output_and_records_latency() {
        let runner = Runner::new("sh", Duration::from_secs(10));
        let out = runner.run(&["-c", "echo out; echo err >&2", "x"]).unwrap();
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
        let stats = runner.latencies();
        let (key, entry) = stats.iter().next().unwrap();
        assert_eq!(key, "sh echo out; echo err >&2", "program and first words");
        assert_eq!((entry.count, entry.failures), (1, 0));
    }

    #[test]
    fn failure_is_classified_from_stderr() {
        let runner = Runner::new("sh", Duration::from_secs(10));
        let err = runner
            .run(&[
                "-c",
                "echo 'ERROR: target path already exists: a' >&2; exit 1",
            ])
            .unwrap_err();
        assert!(
            matches!(&err, Error::TargetExists(c) if c.code == Some(1)),
            "{err}"
        );
        assert_eq!(
            runner.latencies().values().map(|l| l.failures).sum::<u64>(),
            1
        );
    }

    #[test]
    fn arguments_are_never_interpreted_by_a_shell() {
        let runner = Runner::new("printf", Duration::from_secs(10));
        let out = runner
            .run(&["%s", "$(echo no); rm -rf /nonexistent"])
            .unwrap();
        assert_eq!(out.stdout, "$(echo no); rm -rf /nonexistent");
    }

    #[test]
    fn large_output_does_not_block() {
        let runner = Runner::new("head", Duration::from_secs(10));
        let out = runner.run(&["-c", "1000000", "/dev/zero"]).unwrap();
        assert_eq!(out.stdout.len(), 1_000_000);
    }

    #[test]
    fn timeout_kills_the_child() {
        let runner = Runner::new("sleep", Duration::from_millis(100));
        let started = Instant::now();
        let err = runner.run(&["30"]).unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let runner = Runner::new("/nonexistent/btrfs", Duration::from_secs(1));
        let err = runner.run(&["version"]).unwrap_err();
        assert!(matches!(err, Error::Spawn(_)), "{err}");
    }
}
