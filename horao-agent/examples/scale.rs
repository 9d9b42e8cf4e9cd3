//! Measures the agent's goals on a scratch loop-mounted btrfs (needs root): the time for the
//! reconcile loop to converge N volumes from an empty filesystem, and the CPU one
//! steady-state pass takes with nothing to do.
//!
//! `cargo run --release -p horao-agent --example scale -- [volumes] [steady passes]`

use horao_agent::loopfs::LoopFs;
use horao_agent::{
    Config, DesiredState, DesiredVolume, Presence, RealBtrfs, Reconciler, VolumeSource, preflight,
};
use std::error::Error;
use std::time::{Duration, Instant};

/// Clock ticks per second of `/proc/self/stat` (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time of this process (threads included) and of its waited-for children.
fn cpu() -> Result<(Duration, Duration), Box<dyn Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which ends with the last ')').
    let rest = stat.rsplit_once(')').ok_or("bad /proc/self/stat")?.1;
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let [utime, stime, cutime, cstime] = f[..] else {
        return Err("short /proc/self/stat".into());
    };
    let ticks = |t: u64| Duration::from_millis(t * 1000 / TICKS_PER_SECOND);
    Ok((ticks(utime + stime), ticks(cutime + cstime)))
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let volumes: u64 = args.next().map_or(Ok(1000), |a| a.parse())?;
    let passes: u32 = args.next().map_or(Ok(20), |a| a.parse())?;
    if let Some(reason) = LoopFs::unavailable() {
        return Err(format!("cannot make a scratch filesystem: {reason}").into());
    }
    println!("load before: {}", load());
    let fs = LoopFs::create(16 << 30)?;
    let btrfs = RealBtrfs::default();
    preflight(&btrfs, fs.path(), true)?;
    let desired = DesiredState {
        volumes: (0..volumes)
            .map(|i| DesiredVolume {
                id: format!("vol-{i:05}"),
                name: format!("vol-{i:05}"),
                size_bytes: 8 << 20,
                dilation_percent: 10,
                owner_uid: 1000,
                owner_gid: 1000,
                mode: 0o750,
                source: VolumeSource::None,
                assigned_at: i,
                desired: Presence::Present,
            })
            .collect(),
        images: vec![],
    };
    let mut r = Reconciler::new(Config::new(fs.path()));
    let clock = Instant::now();

    // From empty to converged: passes until every volume is ready.
    let (cpu0, child0) = cpu()?;
    let started = Instant::now();
    let mut n = 0;
    let report = loop {
        n += 1;
        let report = r.pass(&btrfs, &desired, clock.elapsed());
        if report.settled() || n == 10 {
            break report;
        }
    };
    let converged = started.elapsed();
    let (cpu1, child1) = cpu()?;
    let ready = report
        .volumes
        .iter()
        .filter(|v| v.state == horao_agent::State::Ready)
        .count();
    println!(
        "converge {volumes} volumes: {:.2} s wall in {n} pass(es), {ready} ready, {} changes; \
         agent CPU {:.2} s, btrfs-progs CPU {:.2} s",
        converged.as_secs_f64(),
        report.changes,
        (cpu1 - cpu0).as_secs_f64(),
        (child1 - child0).as_secs_f64()
    );

    // Steady state: nothing to do.
    let started = Instant::now();
    let mut changes = 0;
    for _ in 0..passes {
        changes += r.pass(&btrfs, &desired, clock.elapsed()).changes;
    }
    let wall = started.elapsed() / passes;
    let (cpu2, child2) = cpu()?;
    println!(
        "steady pass over {volumes} volumes (mean of {passes}, {changes} changes): {:.1} ms wall, \
         agent CPU {:.1} ms, btrfs-progs CPU {:.1} ms",
        wall.as_secs_f64() * 1e3,
        (cpu2 - cpu1).as_secs_f64() * 1e3 / f64::from(passes),
        (child2 - child1).as_secs_f64() * 1e3 / f64::from(passes)
    );
    for (command, l) in btrfs.runner().latencies() {
        println!(
            "  {command}: {} runs, mean {:.2} ms, max {:.2} ms",
            l.count,
            l.total.as_secs_f64() * 1e3 / l.count.max(1) as f64,
            l.max.as_secs_f64() * 1e3
        );
    }
    println!("load after: {}", load());
    Ok(())
}
