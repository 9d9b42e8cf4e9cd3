//! The blocking HTTP client of the server's agent routes: register the machine, list the
//! volumes assigned to it and the images, report each volume's current state. Errors are typed: the caller
//! tells a server it cannot reach (keep reconciling the last desired state) from a token it
//! refused (stop and say so) from a request it rejected (log the server's JSON error).
//! Unreachable servers and 5xx answers are retried with capped, jittered backoff.

use super::retry::{Jitter, RetryPolicy};
use super::tls::Trust;
use horao_model::api::Page;
use horao_model::api::storage::{ImageView, PutMachine, VolumeCurrentView, VolumeView};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// The longest page the server serves; the agent asks for full pages.
pub const PAGE_LIMIT: usize = horao_model::api::MAX_LIMIT;

/// The server's JSON error body: `{"error","detail","field"?}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// A short machine-readable code.
    #[serde(default)]
    pub error: String,
    /// What went wrong, for people.
    #[serde(default)]
    pub detail: String,
    /// The request field at fault, when there is one.
    #[serde(default)]
    pub field: Option<String>,
}

impl ApiErrorBody {
    /// The body of an error response: the server's JSON, or the raw text when it is not JSON.
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|_| Self {
            error: String::new(),
            detail: text.chars().take(500).collect(),
            field: None,
        })
    }
}

impl std::fmt::Display for ApiErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.detail)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer (connection refused, timeout, broken connection) after every retry.
    #[error("server unreachable at {url} after {attempts} attempts: {detail}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The transport's error.
        detail: String,
    },
    /// The server refused the token (401) or its permissions (403): retrying cannot help.
    #[error(
        "the server refused the agent's token ({status}: {body}); check --token (HORAO_TOKEN): it must be an agent or admin token"
    )]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The server's error.
        body: ApiErrorBody,
    },
    /// The route or the object does not exist (404).
    #[error("not found: {path} ({body})")]
    NotFound {
        /// The path asked.
        path: String,
        /// The server's error.
        body: ApiErrorBody,
    },
    /// The server rejected the request (another 4xx) and said why.
    #[error("the server rejected {path} ({status}): {body}")]
    Rejected {
        /// The path asked.
        path: String,
        /// The status.
        status: u16,
        /// The server's error.
        body: ApiErrorBody,
    },
    /// The server failed (5xx) after every retry.
    #[error("the server failed on {path} ({status}) after {attempts} attempts: {body}")]
    Server {
        /// The path asked.
        path: String,
        /// The last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The server's error.
        body: ApiErrorBody,
    },
    /// A success whose body could not be read as the expected JSON.
    #[error("the server's answer to {path} is not what the API says: {detail}")]
    Decode {
        /// The path asked.
        path: String,
        /// What did not parse.
        detail: String,
    },
}

impl ClientError {
    /// Whether the agent should stop: the token is refused, nothing will work until an
    /// operator fixes it.
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Unauthorized { .. })
    }

    fn retryable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Server { .. })
    }

    fn set_attempts(&mut self, n: u32) {
        if let Self::Unreachable { attempts, .. } | Self::Server { attempts, .. } = self {
            *attempts = n;
        }
    }
}

/// The complete listing of the volumes assigned to one machine and of the images, every page
/// followed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// The volumes, in id order.
    pub volumes: Vec<VolumeView>,
    /// How many volumes the server said match, in its first page.
    pub total: usize,
    /// Every image, in id order.
    pub images: Vec<ImageView>,
    /// How many images the server said there are, in its first page.
    pub images_total: usize,
    /// Volumes the server deleted explicitly (a `delete` record on the watch feed) that may
    /// still be on disk; empty for a polled listing.
    pub deleted: BTreeSet<String>,
}

/// Maps a status and body to the body on success or to the error.
fn classify(status: u16, path: &str, text: String) -> Result<String, ClientError> {
    let path = path.to_owned();
    match status {
        200..=299 => Ok(text),
        401 | 403 => Err(ClientError::Unauthorized {
            status,
            body: ApiErrorBody::parse(&text),
        }),
        404 => Err(ClientError::NotFound {
            path,
            body: ApiErrorBody::parse(&text),
        }),
        500..=599 => Err(ClientError::Server {
            path,
            status,
            attempts: 1,
            body: ApiErrorBody::parse(&text),
        }),
        _ => Err(ClientError::Rejected {
            path,
            status,
            body: ApiErrorBody::parse(&text),
        }),
    }
}

/// Percent-encodes one path segment (names and ids are plain, but the client does not rely
/// on it).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A request: GET with a query, or PUT with a JSON body.
enum Request<'a> {
    Get(&'a [(&'a str, &'a str)]),
    Put(&'a [u8]),
}

/// The client: one server, one token.
#[derive(Debug)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    auth: String,
    policy: RetryPolicy,
    jitter: Jitter,
}

impl Client {
    /// A client of the server at `base` (`http://host:port` or `https://…`, trusting
    /// Mozilla's roots) with `token`; `seed` seeds the retry jitter.
    pub fn new(base: &str, token: &str, policy: RetryPolicy, seed: u64) -> Self {
        Self::with_trust(base, token, policy, seed, &Trust::default())
    }

    /// [`Client::new`], trusting `trust` for `https://` servers.
    pub fn with_trust(
        base: &str,
        token: &str,
        policy: RetryPolicy,
        seed: u64,
        trust: &Trust,
    ) -> Self {
        let config = ureq::Agent::config_builder()
            .tls_config(trust.tls_config())
            .timeout_global(Some(Duration::from_secs(30)))
            .http_status_as_error(false)
            .build();
        Self {
            agent: config.into(),
            base: base.trim_end_matches('/').to_owned(),
            auth: format!("Bearer {token}"),
            policy,
            jitter: Jitter::new(seed),
        }
    }

    /// Registers or updates machine `name`: `PUT /api/v1/machines/{name}`.
    pub fn put_machine(&mut self, name: &str, body: &PutMachine) -> Result<(), ClientError> {
        let path = format!("/api/v1/machines/{}", segment(name));
        self.put_json(&path, body)
    }

    /// Reports volume `id`'s current state: `PUT /api/v1/volumes/{id}/current`.
    pub fn put_current(&mut self, id: &str, body: &VolumeCurrentView) -> Result<(), ClientError> {
        let path = format!("/api/v1/volumes/{}/current", segment(id));
        self.put_json(&path, body)
    }

    /// Every volume assigned to `machine` (`GET /api/v1/volumes?machine=…`) and every image
    /// (`GET /api/v1/images`), following `next`.
    pub fn list(&mut self, machine: &str) -> Result<Listing, ClientError> {
        let (volumes, total) = self.list_all("/api/v1/volumes", &[("machine", machine)])?;
        let (images, images_total) = self.list_images()?;
        Ok(Listing {
            volumes,
            total,
            images,
            images_total,
            deleted: BTreeSet::new(),
        })
    }

    /// Every image (`GET /api/v1/images`, following `next`), with the total the server gave.
    pub fn list_images(&mut self) -> Result<(Vec<ImageView>, usize), ClientError> {
        self.list_all("/api/v1/images", &[])
    }

    /// Every item of the collection at `path` matching `filter`, following `next`; with the
    /// total the server gave in its first page.
    fn list_all<T: DeserializeOwned>(
        &mut self,
        path: &str,
        filter: &[(&str, &str)],
    ) -> Result<(Vec<T>, usize), ClientError> {
        let limit = PAGE_LIMIT.to_string();
        let (mut items, mut total) = (Vec::new(), 0);
        let mut after: Option<String> = None;
        for page_no in 0usize.. {
            let mut query = filter.to_vec();
            query.push(("limit", limit.as_str()));
            if let Some(a) = &after {
                query.push(("after", a.as_str()));
            }
            let text = self.send(path, Request::Get(&query))?;
            let page: Page<T> = serde_json::from_str(&text).map_err(|e| ClientError::Decode {
                path: path.into(),
                detail: e.to_string(),
            })?;
            if page_no == 0 {
                total = page.total;
            }
            let progressed = !page.items.is_empty();
            items.extend(page.items);
            match page.next {
                // A cursor that does not move would loop forever.
                Some(next) if progressed && after.as_deref() != Some(next.as_str()) => {
                    after = Some(next);
                }
                Some(next) if !progressed || after.as_deref() == Some(next.as_str()) => {
                    return Err(ClientError::Decode {
                        path: path.into(),
                        detail: format!("the cursor {next:?} does not advance"),
                    });
                }
                _ => break,
            }
        }
        Ok((items, total))
    }

    fn put_json(&mut self, path: &str, body: &impl Serialize) -> Result<(), ClientError> {
        let bytes = serde_json::to_vec(body).map_err(|e| ClientError::Decode {
            path: path.into(),
            detail: e.to_string(),
        })?;
        self.send(path, Request::Put(&bytes)).map(drop)
    }

    /// Sends with retries of unreachable servers and 5xx answers.
    fn send(&mut self, path: &str, request: Request<'_>) -> Result<String, ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.once(path, &request) {
                Err(e) if e.retryable() && attempt < self.policy.attempts => {
                    let delay = self.jitter.delay(&self.policy, attempt - 1);
                    tracing::debug!(%e, ?delay, "retrying");
                    std::thread::sleep(delay);
                }
                Err(mut e) => {
                    e.set_attempts(attempt);
                    return Err(e);
                }
                Ok(text) => return Ok(text),
            }
        }
    }

    fn once(&self, path: &str, request: &Request<'_>) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let sent = match request {
            Request::Get(query) => {
                let mut r = self.agent.get(&url).header("authorization", &self.auth);
                for (k, v) in query.iter() {
                    r = r.query(k, v);
                }
                r.call()
            }
            Request::Put(body) => self
                .agent
                .put(&url)
                .header("authorization", &self.auth)
                .header("content-type", "application/json")
                .send(*body),
        };
        let unreachable = |e: ureq::Error| ClientError::Unreachable {
            url: url.clone(),
            attempts: 1,
            detail: e.to_string(),
        };
        let mut response = sent.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        classify(status, path, text)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
