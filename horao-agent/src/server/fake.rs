//! A small in-process fake of the server's agent routes, on 127.0.0.1 with a port the kernel
//! picks: `PUT /api/v1/machines/{name}`, `GET /api/v1/volumes?machine=&limit=&after=`,
//! `GET /api/v1/images?limit=&after=` and `PUT /api/v1/volumes/{id}/current`, with
//! bearer-token checks and the JSON error shape.
//! For tests of the client and of the binary; the real server replaces it in end-to-end tests.
//! One connection at a time, one request per connection (`Connection: close`).

use horao_model::api::Page;
use horao_model::api::storage::{ImageView, PutMachine, VolumeCurrentView, VolumeView};
use std::collections::{BTreeMap, VecDeque};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// What the fake serves and what it was sent.
#[derive(Debug, Default)]
pub struct FakeState {
    /// The token it accepts.
    pub token: String,
    /// The volumes it lists (assigned to the machines in their `machines`).
    pub volumes: Vec<VolumeView>,
    /// The images it lists.
    pub images: Vec<ImageView>,
    /// Longest page it serves (0: 1000).
    pub page_size: usize,
    /// Machines as last put.
    pub machines: BTreeMap<String, PutMachine>,
    /// Every current state put, per volume id, in order.
    pub current: BTreeMap<String, Vec<VolumeCurrentView>>,
    /// Answers (status, body) given instead of the route's, first to last.
    pub fail: VecDeque<(u16, String)>,
    /// Every request line received.
    pub requests: Vec<String>,
}

/// A running fake; stops when dropped.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    state: Arc<Mutex<FakeState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeServer {
    /// Starts a fake accepting `token`.
    pub fn start(token: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(FakeState {
            token: token.into(),
            ..FakeState::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, f) = (Arc::clone(&state), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if f.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    // A client that hangs up mid-request is its own problem.
                    let _ = serve(&s, stream);
                }
            }
        });
        Ok(Self {
            addr,
            state,
            stop,
            thread: Some(thread),
        })
    }

    /// Its base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Its state, to set up or inspect.
    pub fn state(&self) -> MutexGuard<'_, FakeState> {
        lock(&self.state)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A request as the fake reads it.
struct Incoming {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    auth: Option<String>,
    body: Vec<u8>,
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(stream: &TcpStream) -> io::Result<(String, Incoming)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let line = line.trim_end().to_owned();
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect();
    let (mut length, mut auth) = (0usize, None);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "authorization" => auth = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let path = decode(path);
    Ok((
        line,
        Incoming {
            method,
            path,
            query,
            auth,
            body,
        },
    ))
}

fn error(status: u16, error: &str, detail: &str) -> (u16, String) {
    let body = serde_json::json!({ "error": error, "detail": detail });
    (status, body.to_string())
}

fn json(value: &impl serde::Serialize) -> (u16, String) {
    match serde_json::to_string(value) {
        Ok(s) => (200, s),
        Err(e) => error(500, "internal", &e.to_string()),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, (u16, String)> {
    serde_json::from_slice(body).map_err(|e| error(400, "invalid", &e.to_string()))
}

fn route(state: &mut FakeState, req: &Incoming) -> (u16, String) {
    if req.auth.as_deref() != Some(format!("Bearer {}", state.token).as_str()) {
        return error(401, "unauthorized", "missing or unknown token");
    }
    if let Some(answer) = state.fail.pop_front() {
        return answer;
    }
    let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("PUT", ["api", "v1", "machines", name]) => match parse::<PutMachine>(&req.body) {
            Ok(m) => {
                state.machines.insert((*name).to_owned(), m.clone());
                json(&m)
            }
            Err(e) => e,
        },
        ("GET", ["api", "v1", "volumes"]) => {
            let machine = req.query.get("machine").cloned().unwrap_or_default();
            let matching = state
                .volumes
                .iter()
                .filter(|v| v.machines.iter().any(|m| m.as_str() == machine));
            json(&page(matching, |v| v.id.as_str(), req, state.page_size))
        }
        ("GET", ["api", "v1", "images"]) => json(&page(
            state.images.iter(),
            |i| i.id.as_str(),
            req,
            state.page_size,
        )),
        ("PUT", ["api", "v1", "volumes", id, "current"]) => {
            if !state.volumes.iter().any(|v| v.id.as_str() == *id) {
                return error(404, "not_found", &format!("no volume {id}"));
            }
            match parse::<VolumeCurrentView>(&req.body) {
                Ok(c) => {
                    state
                        .current
                        .entry((*id).to_owned())
                        .or_default()
                        .push(c.clone());
                    json(&c)
                }
                Err(e) => e,
            }
        }
        _ => error(
            404,
            "not_found",
            &format!("no route {} {}", req.method, req.path),
        ),
    }
}

/// One page of `matching` in id order, after the request's `after` cursor, at most its
/// `limit` (default 100) and `page_size` (0: 1000) long.
fn page<'a, T: Clone + 'a>(
    matching: impl Iterator<Item = &'a T>,
    id: impl Fn(&T) -> &str,
    req: &Incoming,
    page_size: usize,
) -> Page<T> {
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100usize)
        .min(if page_size == 0 { 1000 } else { page_size });
    let mut matching: Vec<&T> = matching.collect();
    matching.sort_by(|a, b| id(a).cmp(id(b)));
    let total = matching.len();
    let after = req.query.get("after");
    let rest: Vec<&T> = matching
        .into_iter()
        .filter(|v| after.is_none_or(|a| id(v) > a.as_str()))
        .collect();
    let more = rest.len() > limit;
    let items: Vec<T> = rest.into_iter().take(limit).cloned().collect();
    let next = items.last().map(|v| id(v).to_owned()).filter(|_| more);
    Page { items, total, next }
}

fn serve(state: &Mutex<FakeState>, mut stream: TcpStream) -> io::Result<()> {
    let (line, req) = read_request(&stream)?;
    let (status, body) = {
        let mut s = lock(state);
        s.requests.push(line);
        route(&mut s, &req)
    };
    write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// A volume view as the server would list it: `id` named `name`, assigned to `machine`,
/// `size_bytes` large, owned by 1000:1000 with mode 0750, no dilation.
pub fn volume_view(
    id: &str,
    name: &str,
    machine: &str,
    size_bytes: u64,
) -> serde_json::Result<VolumeView> {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": name, "size_bytes": size_bytes, "dilation_percent": 0,
        "quota_bytes": size_bytes, "owner_uid": 1000, "owner_gid": 1000, "mode": "0750",
        "labels": {}, "require_labels": {}, "tenant": null, "image": null, "clone_of": null,
        "machine": machine, "machines": [machine], "desired_state": "ready", "operation": null,
        "attempt": 0, "reported_by": null, "current": null,
    }))
}

/// An image view as the server would list it: `id` named `name`, 1 MiB, taken from the
/// volume `from_volume` when given.
pub fn image_view(
    id: &str,
    name: &str,
    from_volume: Option<&str>,
) -> serde_json::Result<ImageView> {
    serde_json::from_value(serde_json::json!({
        "id": id, "name": name, "size_bytes": 1 << 20, "from_volume": from_volume,
        "url": null, "replicas": [],
    }))
}
