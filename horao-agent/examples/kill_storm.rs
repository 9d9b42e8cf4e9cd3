//! The kill goal, measured (needs root): a stream of volume operations, each round
//! reconciled by an agent process that is killed with SIGKILL at a pseudo-random point; after
//! the last kill a restarted agent must converge with no orphaned or duplicated subvolumes or
//! qgroups. Prints how many kills hit a running agent and how many passes convergence took.
//!
//! `cargo run --release -p horao-agent --example kill_storm -- [rounds] [seed]`

use horao_agent::btrfs::Btrfs;
use horao_agent::loopfs::LoopFs;
use horao_agent::persist::StateFile;
use horao_agent::{
    Config, DesiredImage, DesiredState, DesiredVolume, Presence, RealBtrfs, Reconciler,
    VolumeSource, preflight,
};
use std::collections::BTreeSet;
use std::error::Error;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_VAR: &str = "HORAO_KILL_STORM_CHILD";
const MIB: u64 = 1 << 20;

/// xorshift64: a seeded stream, so a run can be repeated exactly.
struct Stream(u64);

impl Stream {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// The agent as a child process: reconciles the state file under the root until settled.
fn child(spec: &str) -> Result<(), Box<dyn Error>> {
    let (root, state) = spec.split_once('\n').ok_or("bad child spec")?;
    let desired = StateFile::new(state).load()?.ok_or("no desired state")?;
    let btrfs = RealBtrfs::default();
    let mut r = Reconciler::new(Config::new(root));
    let started = Instant::now();
    for _ in 0..20 {
        let report = r.pass(&btrfs, &desired, started.elapsed());
        if report.settled() && report.changes == 0 {
            return Ok(());
        }
    }
    Err("the agent did not converge".into())
}

fn volume(n: u64, source: VolumeSource) -> DesiredVolume {
    DesiredVolume {
        id: format!("id-{n}"),
        name: format!("v{n}"),
        size_bytes: MIB + n,
        dilation_percent: 10,
        owner_uid: 1000,
        owner_gid: 1000,
        mode: 0o750,
        source,
        assigned_at: n,
        desired: Presence::Present,
    }
}

/// One round of operations: two deletes and two resizes of live volumes, then three new
/// volumes (empty, from the image, a clone of a live one).
fn step(d: &mut DesiredState, next: &mut u64, rng: &mut Stream) {
    // A clone's source is never deleted (nor the image's source, v0): a clone of a deleted
    // volume could never be made.
    let sources: BTreeSet<String> = d
        .volumes
        .iter()
        .filter_map(|v| match &v.source {
            VolumeSource::Clone(s) => Some(s.clone()),
            _ => None,
        })
        .chain(["v0".to_string()])
        .collect();
    let live = |d: &DesiredState| -> Vec<usize> {
        (0..d.volumes.len())
            .filter(|&i| d.volumes[i].desired == Presence::Present)
            .collect()
    };
    for _ in 0..2 {
        let deletable: Vec<usize> = live(d)
            .into_iter()
            .filter(|&i| !sources.contains(&d.volumes[i].name))
            .collect();
        if let Some(&i) = deletable.get(rng.next(deletable.len() as u64) as usize) {
            d.volumes[i].desired = Presence::Deleted;
        }
        let live = live(d);
        if let Some(&i) = live.get(rng.next(live.len() as u64) as usize) {
            d.volumes[i].size_bytes += MIB;
        }
    }
    let live = live(d);
    for k in 0..3 {
        let source = match k {
            0 => VolumeSource::None,
            1 => VolumeSource::Image("img".into()),
            _ => match live.get(rng.next(live.len() as u64) as usize) {
                Some(&i) => VolumeSource::Clone(d.volumes[i].name.clone()),
                None => VolumeSource::None,
            },
        };
        d.volumes.push(volume(*next, source));
        *next += 1;
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    if let Ok(spec) = std::env::var(CHILD_VAR) {
        return child(&spec);
    }
    let mut args = std::env::args().skip(1);
    let rounds: u32 = args.next().map_or(Ok(100), |a| a.parse())?;
    let mut rng = Stream(
        args.next()
            .map_or(Ok(0x9e37_79b9_7f4a_7c15), |a| a.parse())?,
    );
    if let Some(reason) = LoopFs::unavailable() {
        return Err(format!("cannot make a scratch filesystem: {reason}").into());
    }
    let fs = LoopFs::create(8 << 30)?;
    let btrfs = RealBtrfs::default();
    preflight(&btrfs, fs.path(), true)?;
    let root = fs.path().join("srv");
    std::fs::create_dir(&root)?;
    let state = StateFile::new(fs.path().join("desired.json"));
    let mut desired = DesiredState {
        volumes: vec![volume(0, VolumeSource::None)],
        images: vec![DesiredImage {
            name: "img".into(),
            from_volume: Some("v0".into()),
            desired: Presence::Present,
            kept_here: false,
        }],
    };
    let mut next = 1;
    let (mut killed, started) = (0, Instant::now());
    for _ in 0..rounds {
        step(&mut desired, &mut next, &mut rng);
        state.save(&desired)?;
        let mut agent = Command::new(std::env::current_exe()?)
            .env(
                CHILD_VAR,
                format!("{}\n{}", root.display(), state.path().display()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        std::thread::sleep(Duration::from_millis(rng.next(120)));
        killed += u32::from(agent.try_wait()?.is_none());
        agent.kill()?;
        agent.wait()?;
    }
    println!(
        "{rounds} rounds, {killed} agents killed while running, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // The restarted agent.
    let mut r = Reconciler::new(Config::new(&root));
    let mut passes = 0;
    loop {
        passes += 1;
        let report = r.pass(&btrfs, &desired, Duration::from_secs(passes));
        if report.settled() && report.changes == 0 {
            if report.degraded || !report.orphans.is_empty() || !report.escapes.is_empty() {
                return Err(format!("degraded, or orphans or escapes left: {report:?}").into());
            }
            break;
        }
        if passes == 5 {
            return Err(format!("not converged after 5 passes: {report:?}").into());
        }
    }
    check(&btrfs, fs.path(), &root, &desired)?;
    println!(
        "converged: {passes} passes (the last one found nothing to do); no orphaned, duplicated or stale subvolumes or qgroups"
    );
    Ok(())
}

/// Every desired volume is there once with its limit, nothing else is, and every level-0
/// qgroup belongs to a live subvolume.
fn check(
    btrfs: &RealBtrfs,
    top: &Path,
    root: &Path,
    d: &DesiredState,
) -> Result<(), Box<dyn Error>> {
    let listed: Vec<String> = btrfs.list(root)?.into_iter().map(|s| s.path).collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    let want: BTreeSet<String> = d
        .present_volumes()
        .map(|v| v.name.clone())
        .chain([".images/img".to_string()])
        .collect();
    if unique.len() != listed.len() || unique.into_iter().cloned().collect::<BTreeSet<_>>() != want
    {
        return Err(format!("subvolumes {listed:?}, wanted {want:?}").into());
    }
    let qgroups = btrfs.qgroups(root)?;
    for v in d.present_volumes() {
        let id = btrfs.subvolume_id(&root.join(&v.name))?;
        let limit = qgroups.get(&id).and_then(|q| q.max_referenced);
        let expected = horao_agent::reconcile::limit_bytes(v.size_bytes, v.dilation_percent);
        if limit != expected {
            return Err(format!("{}: limit {limit:?}, wanted {expected:?}", v.name).into());
        }
    }
    let live: BTreeSet<u64> = btrfs.list(top)?.iter().map(|s| s.id).chain([5]).collect();
    let stale: Vec<&u64> = qgroups.keys().filter(|id| !live.contains(id)).collect();
    if !stale.is_empty() {
        return Err(format!("stale qgroups {stale:?}").into());
    }
    Ok(())
}
