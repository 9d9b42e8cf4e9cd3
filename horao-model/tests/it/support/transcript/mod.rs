//! The transcript runner: every scenario of every layer is lines
//! `<replica> <command> <args…> => <expected>`, run against one `World` of `Replica<Model>`s.
//!
//! Replicas are named by a word and created on first use; replica ids and the seeds of their
//! RNGs (used for fractional positions) follow creation order. Every line advances one clock
//! for the whole world, so each mutation gets the next timestamp and runs replay exactly.
//! `<expected>` is `ok`, an error's message, or a query's answer on one line (items joined by
//! ` | `). Blank lines and lines starting with `#` are skipped.
//!
//! Arguments are positional words and `key=value` pairs (a word starting with `+` or `-` is
//! always positional, so `+zone=a` is a label to add). In free text (`name=`, `description=`,
//! tags, endpoints) `_` stands for a space. Every mutation takes `by=` for the writer:
//! `user` (the default), `server`, `tenant:ID` or `agent:ID`.
//!
//! Commands common to every layer:
//! - `a sync b c`: a's full state is merged into b and c (a state-based merge);
//! - `a exchange b c`: a, b and c exchange deltas by anti-entropy, each pulling what it lacks
//!   from each other one, until all hold the same state;
//! - `a show conflicts`: the model's conflict report ([`Model::conflicts`]);
//! - `a show list TABLE [limit=N] [after=ID] [name=N] [label=L] [datacenter=D] [machine=M]`:
//!   one page of the API's listing of any table (`datacenters`, …, `volumes`, `resources`),
//!   as `ID,… total=N next=CURSOR`.
//!
//! Each layer adds its commands in its own module ([`physical`], [`logical`], [`claims`],
//! [`storage`], [`environments`]): a mutation is a verb (`dc`, `move-device`,
//! `volume-create`, …) and a query is `show <what> …`.

mod claims;
mod environments;
mod logical;
mod physical;
mod storage;

pub(crate) use storage::desired_path;

use horao_crdt::{Answer, Causal, Replica, ReplicaId, Timestamp, Tx};
use horao_model::model::Model;
use horao_model::{Actor, Label, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::str::FromStr;

/// What a command prints: `Ok` for an answer or `ok`, `Err` for an error's message.
type Out = std::result::Result<String, String>;

/// One replica with its randomness.
pub(crate) struct Node {
    /// The replica every command of this name runs on.
    pub(crate) replica: Replica<Model>,
    rng: ChaCha8Rng,
    /// The delta of the last successful mutation, until taken.
    last: Option<Causal<Model>>,
}

/// The timestamps a world hands out: step `n` (the n-th line run) writes at
/// `epoch_ms + n × tick_ms`, or with `period` set at `epoch_ms + (n mod period) × tick_ms`, so
/// that concurrent writes on different replicas share timestamps and LWW ties are broken by
/// replica.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub(crate) epoch_ms: u64,
    pub(crate) tick_ms: u64,
    pub(crate) period: Option<u64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            epoch_ms: 0,
            tick_ms: 10,
            period: None,
        }
    }
}

impl Clock {
    fn at(self, step: u64) -> Timestamp {
        let n = self.period.map_or(step, |p| step % p);
        Timestamp::new(self.epoch_ms + n * self.tick_ms, 0).expect("timestamp in range")
    }
}

/// The replicas of one scenario.
#[derive(Default)]
pub(crate) struct World {
    nodes: BTreeMap<String, Node>,
    step: u64,
    clock: Clock,
}

impl World {
    /// A world whose timestamps follow `clock`.
    pub(crate) fn with_clock(clock: Clock) -> Self {
        World {
            clock,
            ..World::default()
        }
    }

    /// The node called `name`, created on first use.
    pub(crate) fn node(&mut self, name: &str) -> &mut Node {
        let n = self.nodes.len() as u64 + 1;
        self.nodes.entry(name.to_string()).or_insert_with(|| Node {
            replica: Replica::new(ReplicaId(n)),
            rng: ChaCha8Rng::seed_from_u64(n),
            last: None,
        })
    }

    /// The replica called `name`.
    pub(crate) fn replica(&mut self, name: &str) -> &mut Replica<Model> {
        &mut self.node(name).replica
    }

    /// The model on replica `name`.
    pub(crate) fn model(&mut self, name: &str) -> &Model {
        self.node(name).replica.state()
    }

    /// The delta of the last successful mutation on `name`, if not taken yet.
    pub(crate) fn take_delta(&mut self, name: &str) -> Option<Causal<Model>> {
        self.node(name).last.take()
    }

    /// `to` asks `from` for what it lacks and applies the answer (deltas, or the full state
    /// when `from` no longer logs them).
    pub(crate) fn exchange(&mut self, from: &str, to: &str) {
        let peer = self.replica(to).ctx().clone();
        let answer = self.replica(from).answer(&peer);
        let target = self.replica(to);
        match answer {
            Answer::UpToDate => {}
            Answer::Deltas(d) => {
                target.apply(d);
            }
            Answer::Full(s) => {
                target.merge(s);
            }
        }
    }

    /// Every replica of `names` exchanges with every other, twice round: then all hold the
    /// same state.
    pub(crate) fn exchange_all(&mut self, names: &[&str]) {
        for _ in 0..2 {
            for from in names {
                for to in names {
                    if from != to {
                        self.exchange(from, to);
                    }
                }
            }
        }
    }

    /// Runs one command on replica `who`, returning its one-line outcome.
    pub(crate) fn run(&mut self, who: &str, line: &str) -> String {
        self.step += 1;
        let ts = self.clock.at(self.step);
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((cmd, rest)) = words.split_first() else {
            return "empty command".into();
        };
        let a = Args::parse(rest);
        match *cmd {
            "sync" => {
                let state = self.replica(who).causal().clone();
                for target in &a.pos {
                    self.replica(target).merge(state.clone());
                }
                return "ok".into();
            }
            "exchange" => {
                let mut names = vec![who];
                names.extend(&a.pos);
                self.exchange_all(&names);
                return "ok".into();
            }
            _ => {}
        }
        let out =
            exec(self.node(who), ts, cmd, &a).unwrap_or(Err(format!("unknown command {cmd}")));
        match out {
            Ok(s) | Err(s) => s,
        }
    }

    /// Runs scenario lines, returning the first mismatch as an error.
    pub(crate) fn script(&mut self, text: &str) -> std::result::Result<(), String> {
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (who, cmd, expect) = split_line(line).ok_or(format!(
                "line {}: not `<replica> <command> => <expected>`",
                n + 1
            ))?;
            let got = self.run(who, cmd);
            if got != expect {
                return Err(format!(
                    "line {}: {line}\n  expected: {expect}\n  got:      {got}",
                    n + 1
                ));
            }
        }
        Ok(())
    }

    /// Runs scenario lines and returns them with each expected outcome replaced by the
    /// actual one (comments and blank lines kept).
    pub(crate) fn transcript(&mut self, text: &str) -> String {
        let mut out = String::new();
        for raw in text.lines() {
            match split_line(raw.trim()).filter(|_| !raw.trim().starts_with('#')) {
                Some((who, cmd, _)) => {
                    let (head, _) = raw.split_once("=>").unwrap_or((raw, ""));
                    let got = self.run(who, cmd);
                    out += &format!("{} => {got}\n", head.trim_end());
                }
                None => out += &format!("{raw}\n"),
            }
        }
        out
    }
}

/// Splits a scenario line into replica, command and expected outcome.
pub(crate) fn split_line(line: &str) -> Option<(&str, &str, &str)> {
    let (cmd, expect) = line.split_once("=>")?;
    let (who, cmd) = cmd.trim().split_once(' ')?;
    Some((who, cmd.trim(), expect.trim()))
}

/// Runs `text` (scenario lines) on a fresh world and panics on the first mismatch.
pub(crate) fn check(text: &str) {
    if let Err(e) = World::default().script(text) {
        panic!("{e}");
    }
}

/// Runs `setup`, then `text`, on a fresh world and panics on the first mismatch.
pub(crate) fn check_after(setup: &str, text: &str) {
    check(&format!("{setup}\n{text}"));
}

/// Runs every `*.txt` scenario under `testdata/<dir>`, each on a fresh world. Under
/// `HORAO_BLESS` each file is first rewritten with the outcomes the model gives now (review
/// the diff before committing it).
pub(crate) fn check_dir(dir: &str) {
    let path = format!("{}/testdata/{dir}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(&path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenarios in {path}");
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        if super::pin::blessing() {
            std::fs::write(&f, World::default().transcript(&text)).unwrap();
        }
        let text = std::fs::read_to_string(&f).unwrap();
        if let Err(e) = World::default().script(&text) {
            panic!("{}: {e}", f.display());
        }
    }
}

/// The commands of one layer: what it runs and answers, and how.
struct Layer {
    /// The mutations it runs.
    commands: &'static [&'static str],
    /// The kinds `delete KIND ID` removes through it.
    deletes: &'static [&'static str],
    /// What `show WHAT …` asks it.
    queries: &'static [&'static str],
    /// Runs one of its `commands` (or a `delete` of one of its kinds).
    run: fn(Cmd<'_>, &str, &Args<'_>) -> Out,
    /// Answers one of its `queries`.
    show: fn(&Model, &str, &Args<'_>) -> Out,
}

const LAYERS: [&Layer; 5] = [
    &physical::LAYER,
    &logical::LAYER,
    &claims::LAYER,
    &storage::LAYER,
    &environments::LAYER,
];

/// Runs a command on the layer that knows it; `None` when none does.
fn exec(node: &mut Node, ts: Timestamp, cmd: &str, a: &Args<'_>) -> Option<Out> {
    if cmd == "show" {
        let m = node.replica.state();
        let what = a.pos.first().copied().unwrap_or("");
        match what {
            "conflicts" => return Some(Ok(join(m.conflicts()))),
            "list" => return Some(list(m, a)),
            _ => {}
        }
        return Some(match LAYERS.iter().find(|l| l.queries.contains(&what)) {
            Some(layer) => (layer.show)(m, what, a),
            None => Err(format!("unknown query {what}")),
        });
    }
    let layer = LAYERS.iter().find(|l| {
        l.commands.contains(&cmd)
            || (cmd == "delete" && a.pos.first().is_some_and(|k| l.deletes.contains(k)))
    })?;
    let by = match a.by() {
        Ok(by) => by,
        Err(e) => return Some(Err(e)),
    };
    Some((layer.run)(Cmd { node, by, ts }, cmd, a))
}

/// One page of the API listing of table `show list TABLE`.
fn list(m: &Model, a: &Args<'_>) -> Out {
    use horao_model::api::{self, ListQuery, Page};
    fn render<T: serde::Serialize>(page: Result<Page<T>>) -> Out {
        let page = page.map_err(|e| e.to_string())?;
        let ids = page.items.iter().map(|v| {
            let json = serde_json::to_value(v).expect("a view serializes");
            json["id"].as_str().unwrap_or("?").to_string()
        });
        Ok(format!(
            "{} total={} next={}",
            commas(ids),
            page.total,
            opt(page.next)
        ))
    }
    let text = |k: &str| a.get(k).map(String::from);
    let q = ListQuery {
        limit: a.get("limit").map(|_| a.n("limit")).transpose()?,
        after: text("after"),
        name: text("name"),
        label: text("label"),
        datacenter: text("datacenter"),
        machine: text("machine"),
    };
    match a.p(1)? {
        "datacenters" => render(api::physical::list_datacenters(m, &q)),
        "rows" => render(api::physical::list_rows(m, &q)),
        "racks" => render(api::physical::list_racks(m, &q)),
        "devices" => render(api::physical::list_devices(m, &q)),
        "links" => render(api::physical::list_links(m, &q)),
        "infrastructures" => render(api::logical::list_infrastructures(m, &q)),
        "tenants" => render(api::logical::list_tenants(m, &q)),
        "profiles" => render(api::logical::list_profiles(m, &q)),
        "reservations" => render(api::claims::list_reservations(m, &q)),
        "maintenance" => render(api::claims::list_maintenance(m, &q)),
        "machines" => render(api::storage::list_machines(m, &q)),
        "volumes" => render(api::storage::list_volumes(m, &q)),
        "images" => render(api::storage::list_images(m, &q)),
        "instances" => render(api::storage::list_instances(m, &q)),
        "environments" => render(api::environments::list_environments(m, &q)),
        "resources" => render(api::environments::list_resources(m, &q)),
        other => Err(format!("no listing of {other}")),
    }
}

/// A command about to run: its node, its writer and its timestamp.
struct Cmd<'n> {
    node: &'n mut Node,
    by: Actor,
    ts: Timestamp,
}

impl Cmd<'_> {
    /// Runs a mutation through `try_mutate`, keeping its delta.
    fn mutate(
        self,
        f: impl FnOnce(&Model, &Actor, Timestamp, &mut ChaCha8Rng, &mut Tx) -> Result<Model>,
    ) -> Out {
        let Cmd { node, by, ts } = self;
        let Node { replica, rng, last } = node;
        match replica.try_mutate(|m, tx| f(m, &by, ts, rng, tx)) {
            Ok(delta) => {
                *last = Some(delta);
                Ok("ok".into())
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// The model as it is before the command.
    fn model(&self) -> &Model {
        self.node.replica.state()
    }

    /// Runs `delete(model, by, id, tx)` on the id `x`: the deleters of every layer share
    /// this shape.
    fn delete<I: FromStr<Err = horao_model::Error>>(
        self,
        x: &str,
        delete: impl FnOnce(&Model, &Actor, &I, &mut Tx) -> Result<Model>,
    ) -> Out {
        let i: I = id(x)?;
        self.mutate(|m, by, _, _, tx| delete(m, by, &i, tx))
    }
}

/// Parsed arguments: positional words and `key=value` pairs.
pub(crate) struct Args<'a> {
    pos: Vec<&'a str>,
    kv: BTreeMap<&'a str, &'a str>,
}

impl<'a> Args<'a> {
    fn parse(words: &[&'a str]) -> Self {
        let mut pos = Vec::new();
        let mut kv = BTreeMap::new();
        for w in words {
            match w.split_once('=') {
                Some((k, v)) if !w.starts_with(['+', '-']) => {
                    kv.insert(k, v);
                }
                _ => pos.push(*w),
            }
        }
        Args { pos, kv }
    }

    /// Positional argument `i`.
    fn p(&self, i: usize) -> std::result::Result<&'a str, String> {
        self.pos
            .get(i)
            .copied()
            .ok_or(format!("missing argument {i}"))
    }

    /// The value of `k=`, which must be given.
    fn s(&self, k: &str) -> std::result::Result<&'a str, String> {
        self.get(k).ok_or(format!("missing {k}="))
    }

    fn get(&self, k: &str) -> Option<&'a str> {
        self.kv.get(k).copied()
    }

    fn or(&self, k: &str, d: &'a str) -> &'a str {
        self.get(k).unwrap_or(d)
    }

    /// The number `k=`, which must be given.
    fn n<T: FromStr>(&self, k: &str) -> std::result::Result<T, String> {
        self.s(k)?.parse().map_err(|_| format!("bad number {k}"))
    }

    /// The number `k=`, or `d` when it is not given.
    fn n_or<T: FromStr>(&self, k: &str, d: T) -> std::result::Result<T, String> {
        self.get(k)
            .map_or(Ok(d), |v| v.parse().map_err(|_| format!("bad number {k}")))
    }

    /// The comma-separated list `k=` (empty when not given).
    fn list(&self, k: &str) -> Vec<&'a str> {
        self.get(k)
            .map(|v| v.split(',').filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// The free text `k=`, `_` standing for a space.
    fn text(&self, k: &str) -> Option<String> {
        self.get(k).map(|v| v.replace('_', " "))
    }

    /// The list `k=` of free texts.
    fn texts(&self, k: &str) -> Option<Vec<String>> {
        self.get(k).map(|_| {
            self.list(k)
                .into_iter()
                .map(|s| s.replace('_', " "))
                .collect()
        })
    }

    /// The labels listed in `k=`.
    fn labels(&self, k: &str) -> std::result::Result<Vec<Label>, String> {
        self.list(k).into_iter().map(label).collect()
    }

    /// The id in `k=`.
    fn id<T: FromStr<Err = horao_model::Error>>(&self, k: &str) -> std::result::Result<T, String> {
        id(self.s(k)?)
    }

    /// The id at position `i`.
    fn id_at<T: FromStr<Err = horao_model::Error>>(
        &self,
        i: usize,
    ) -> std::result::Result<T, String> {
        id(self.p(i)?)
    }

    /// The writer `by=`: `user` (default), `server`, `tenant:ID` or `agent:ID`.
    fn by(&self) -> std::result::Result<Actor, String> {
        match self.or("by", "user") {
            "user" => Ok(Actor::User),
            "server" => Ok(Actor::Server),
            w => match w.split_once(':') {
                Some(("tenant", t)) => Ok(Actor::Tenant(id(t)?)),
                Some(("agent", m)) => Ok(Actor::Agent(id(m)?)),
                _ => Err(format!("bad writer {w}")),
            },
        }
    }
}

/// An id parsed by its type's rule; the error is the model's message.
fn id<T: FromStr<Err = horao_model::Error>>(s: &str) -> std::result::Result<T, String> {
    s.parse().map_err(|e: horao_model::Error| e.to_string())
}

/// A label parsed by the label rule.
fn label(s: &str) -> std::result::Result<Label, String> {
    Label::new(s).map_err(|e| e.to_string())
}

/// `+x` (add) or `-x` (remove): the flag and `x`.
fn toggle(w: &str) -> std::result::Result<(bool, &str), String> {
    match w.split_at_checked(1) {
        Some(("+", x)) => Ok((true, x)),
        Some(("-", x)) => Ok((false, x)),
        _ => Err(format!("expected +X or -X, got {w}")),
    }
}

/// Items joined by ` | `, or `-` when there are none.
fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    joined(items, " | ")
}

/// Items joined by `,` (a list inside one field of an answer), or `-` when there are none.
fn commas<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    joined(items, ",")
}

fn joined<T: ToString>(items: impl IntoIterator<Item = T>, sep: &str) -> String {
    let v: Vec<String> = items.into_iter().map(|t| t.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(sep)
    }
}

/// `Some(x)` as `x`, `None` as `-`.
fn opt<T: ToString>(x: Option<T>) -> String {
    x.map_or("-".into(), |x| x.to_string())
}
