//! A seeded soak of the gossip: four servers in this process, each on its own embedded store,
//! every pair linked through a TCP proxy the test can cut; random writes (creates and
//! deletes) on random servers, random link cuts and heals, and clean restarts, for a bounded
//! number of steps. At the end, with every link healed, every server holds the same model
//! (equal contexts and content hashes) and every acknowledged write is in it: each created
//! datacenter is there unless an acknowledged delete removed it, and no deleted one is back.
//!
//! `HORAO_SOAK_SEED` and `HORAO_SOAK_STEPS` change the seed (default 7) and the number of
//! steps (default 400) for a longer run; a failure prints the seed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::proxy::Link;
use crate::support::{StoreKind, TestServer, stores};
use horao_server::gossip::GossipConfig;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const SECRET: &str = "soak-cluster-secret";
const SERVERS: usize = 4;

/// One server of the soak: its store's home, the peer URLs it dials, and the running server
/// (none while it restarts).
struct Node {
    home: crate::support::Home,
    dials: Vec<String>,
    server: Option<TestServer>,
}

impl Node {
    async fn start(&mut self) {
        let dials = self.dials.clone();
        let server = TestServer::start_config(self.home.open(), move |c| {
            c.gossip = GossipConfig {
                peers: dials,
                secret: Some(SECRET.into()),
                interval: Duration::from_millis(200),
                ping_interval: Duration::from_millis(400),
                backoff_base: Duration::from_millis(20),
                backoff_cap: Duration::from_millis(300),
                ..GossipConfig::default()
            };
        })
        .await;
        self.server = Some(server);
    }

    fn up(&self) -> &TestServer {
        self.server.as_ref().unwrap()
    }
}

fn embedded() -> StoreKind {
    stores().into_iter().find(|s| s.name == "embedded").unwrap()
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The context and content hash of every server, when they are all equal.
async fn converged(nodes: &[Node]) -> Option<Value> {
    let mut seen: Option<Value> = None;
    for n in nodes {
        let c = n.up().admin.get("/api/v1/cluster?hash=true").await;
        assert_eq!(c.status, 200, "{}", c.body);
        let key = json!([c.body["context"], c.body["content_hash"]]);
        match &seen {
            None => seen = Some(key),
            Some(k) if *k == key => {}
            Some(_) => return None,
        }
    }
    seen
}

/// Every datacenter id a server lists.
async fn listed(server: &TestServer) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    let mut path = "/api/v1/datacenters?limit=1000".to_string();
    loop {
        let r = server.admin.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        for item in r.body["items"].as_array().unwrap() {
            ids.insert(item["id"].as_str().unwrap().to_string());
        }
        match r.body["next"].as_str() {
            Some(next) => path = format!("/api/v1/datacenters?limit=1000&after={next}"),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_soak_converges_and_keeps_every_acknowledged_write() {
    let seed = env_or("HORAO_SOAK_SEED", 7);
    let steps = env_or("HORAO_SOAK_STEPS", 400);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let began = Instant::now();

    // Server i dials server j < i through links[i][j]; the proxies start once the servers
    // they lead to have addresses, so the servers start in order.
    let mut nodes: Vec<Node> = Vec::new();
    let mut links: Vec<Vec<Option<Link>>> = Vec::new();
    for i in 0..SERVERS {
        let mut row = Vec::new();
        let mut dials = Vec::new();
        for node in nodes.iter().take(i) {
            let link = Link::start(node.up().running.addr).await;
            dials.push(link.url());
            row.push(Some(link));
        }
        row.resize_with(SERVERS, || None);
        links.push(row);
        let mut node = Node {
            home: embedded().home(),
            dials,
            server: None,
        };
        node.start().await;
        nodes.push(node);
    }
    let link = |links: &Vec<Vec<Option<Link>>>, a: usize, b: usize| -> (usize, usize) {
        let (i, j) = if a > b { (a, b) } else { (b, a) };
        assert!(links[i][j].is_some());
        (i, j)
    };

    let mut created: BTreeSet<String> = BTreeSet::new();
    let mut deleted: BTreeSet<String> = BTreeSet::new();
    let (mut cuts, mut restarts, mut refused_deletes) = (0, 0, 0);
    for step in 0..steps {
        let roll = rng.random_range(0..100);
        let at = rng.random_range(0..SERVERS);
        if roll < 65 {
            let r = nodes[at]
                .up()
                .admin
                .post(
                    "/api/v1/datacenters",
                    &json!({"name": format!("soak {seed} step {step}")}),
                )
                .await;
            assert_eq!(r.status, 201, "seed {seed} step {step}: {}", r.body);
            created.insert(r.body["id"].as_str().unwrap().to_string());
        } else if roll < 80 {
            // A delete of an acknowledged create, on a server that may not have it yet.
            let live: Vec<&String> = created.difference(&deleted).collect();
            if live.is_empty() {
                continue;
            }
            let id = live[rng.random_range(0..live.len())].clone();
            let r = nodes[at]
                .up()
                .admin
                .delete(&format!("/api/v1/datacenters/{id}"))
                .await;
            match r.status {
                204 => {
                    deleted.insert(id);
                }
                404 => refused_deletes += 1,
                s => panic!("seed {seed} step {step}: delete answered {s}: {}", r.body),
            }
        } else if roll < 95 {
            let other = (at + rng.random_range(1..SERVERS)) % SERVERS;
            let (i, j) = link(&links, at, other);
            let l = links[i][j].as_ref().unwrap();
            let up = !l.is_up();
            l.set(up);
            cuts += usize::from(!up);
        } else {
            // A clean restart; the links that lead to it follow its new address.
            restarts += 1;
            nodes[at].server.take().unwrap().stop().await;
            nodes[at].start().await;
            let addr = nodes[at].up().running.addr;
            for row in links.iter().skip(at + 1) {
                row[at].as_ref().unwrap().retarget(addr);
            }
        }
        if step % 8 == 0 {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
        }
    }

    // Heal every link; the servers converge.
    for row in &links {
        for l in row.iter().flatten() {
            l.set(true);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while converged(&nodes).await.is_none() {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: the servers did not converge within 60 s after healing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected: BTreeSet<String> = created.difference(&deleted).cloned().collect();
    for (i, n) in nodes.iter().enumerate() {
        let ids = listed(n.up()).await;
        let missing: Vec<_> = expected.difference(&ids).collect();
        let back: Vec<_> = deleted.intersection(&ids).collect();
        assert!(
            missing.is_empty(),
            "seed {seed}: server {i} lost {missing:?}"
        );
        assert!(
            back.is_empty(),
            "seed {seed}: server {i} has deleted {back:?}"
        );
        assert_eq!(ids.len(), expected.len(), "seed {seed}: server {i}");
    }
    // The run exercised what it is meant to.
    assert!(created.len() > steps as usize / 3, "seed {seed}");
    assert!(
        !deleted.is_empty() && cuts > 0 && restarts > 0,
        "seed {seed}"
    );
    eprintln!(
        "soak seed {seed}: {steps} steps, {} created, {} deleted ({refused_deletes} not there \
         yet), {cuts} link cuts, {restarts} restarts, converged in {:.1} s in all",
        created.len(),
        deleted.len(),
        began.elapsed().as_secs_f64()
    );
    for n in &mut nodes {
        n.server.take().unwrap().stop().await;
    }
}
