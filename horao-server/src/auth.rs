//! Bearer tokens and roles. Only SHA-256 digests of tokens are kept (in memory and in the
//! store's metadata); the admin digest is compared in constant time, and minted tokens are
//! found by their digest (a lookup by digest reveals nothing of a token). Tokens are never
//! logged.
//!
//! Roles: an admin acts as [`Actor::User`]; a tenant as [`Actor::Tenant`] and sees only what
//! it owns; an agent as [`Actor::Agent`] of its machine; a peer token opens the gossip
//! endpoint (`/api/v1/gossip`, like the cluster secret) and nothing else.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use horao_model::Actor;
use horao_model::ids::{MachineId, TenantId};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use subtle::ConstantTimeEq;

/// Metadata key of the admin token's digest.
pub const META_ADMIN: &str = "auth/admin";
/// Metadata key prefix of minted tokens (followed by the digest in hex).
pub const META_TOKEN_PREFIX: &str = "auth/token/";

/// What a token may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum Role {
    /// Everything.
    Admin,
    /// What the tenant owns.
    Tenant {
        /// The tenant.
        tenant: TenantId,
    },
    /// The current state of one machine and its volumes.
    Agent {
        /// The machine.
        machine: MachineId,
    },
    /// Another server: the gossip endpoint only (instead of the cluster secret).
    Peer,
}

impl Role {
    /// The writer this role acts as.
    pub fn actor(&self) -> Actor {
        match self {
            Role::Admin => Actor::User,
            Role::Tenant { tenant } => Actor::Tenant(tenant.clone()),
            Role::Agent { machine } => Actor::Agent(machine.clone()),
            // Never reaches a handler (see `Caller`); a peer's changes come by gossip.
            Role::Peer => Actor::Server,
        }
    }

    /// The tenant whose objects alone this role may see (`None`: no such restriction).
    pub fn tenant(&self) -> Option<&TenantId> {
        match self {
            Role::Tenant { tenant } => Some(tenant),
            _ => None,
        }
    }
}

type DigestBytes = [u8; 32];

fn digest(token: &str) -> DigestBytes {
    Sha256::digest(token.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new random token.
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("horao_{}", hex(&b))
}

/// The accepted tokens, as digests.
#[derive(Debug, Default)]
pub struct Tokens {
    admin: Option<DigestBytes>,
    minted: HashMap<DigestBytes, Role>,
}

/// What start-up must store and print about the admin token.
#[derive(Debug, Default)]
pub struct AdminInit {
    /// Metadata to write.
    pub meta: Vec<(String, Option<Vec<u8>>)>,
    /// A generated token, to print once.
    pub new_token: Option<String>,
}

impl Tokens {
    /// The tokens kept in `meta`, with the admin token `given` (replacing the stored one) or
    /// a generated one when none is stored.
    pub fn load(meta: &BTreeMap<String, Vec<u8>>, given: Option<&str>) -> (Self, AdminInit) {
        let mut tokens = Tokens::default();
        for (k, v) in meta.range(META_TOKEN_PREFIX.to_string()..) {
            let Some(h) = k.strip_prefix(META_TOKEN_PREFIX) else {
                break;
            };
            let Some(d) = unhex(h) else { continue };
            if let Ok(role) = serde_json::from_slice::<Role>(v) {
                tokens.minted.insert(d, role);
            }
        }
        let stored = meta
            .get(META_ADMIN)
            .and_then(|v| DigestBytes::try_from(v.as_slice()).ok());
        let mut init = AdminInit::default();
        let admin = match (given, stored) {
            (Some(t), _) => digest(t),
            (None, Some(d)) => d,
            (None, None) => {
                let t = new_token();
                let d = digest(&t);
                init.new_token = Some(t);
                d
            }
        };
        if stored != Some(admin) {
            init.meta
                .push((META_ADMIN.to_string(), Some(admin.to_vec())));
        }
        tokens.admin = Some(admin);
        (tokens, init)
    }

    /// The role of `token`, if it is accepted.
    pub fn role_of(&self, token: &str) -> Option<Role> {
        let d = digest(token);
        if let Some(a) = &self.admin
            && bool::from(a.ct_eq(&d))
        {
            return Some(Role::Admin);
        }
        self.minted.get(&d).cloned()
    }

    /// Adds a minted token; returns the metadata to store.
    pub fn mint(&mut self, token: &str, role: Role) -> Result<(String, Vec<u8>), ApiError> {
        let d = digest(token);
        let v = serde_json::to_vec(&role).map_err(|e| ApiError::internal(e.to_string()))?;
        self.minted.insert(d, role);
        Ok((format!("{META_TOKEN_PREFIX}{}", hex(&d)), v))
    }

    /// Adds a token another server sharing the store minted, from its stored metadata value;
    /// returns its role (`None` when the value does not parse).
    pub fn learn(&mut self, token: &str, stored: &[u8]) -> Option<Role> {
        let role: Role = serde_json::from_slice(stored).ok()?;
        self.minted.insert(digest(token), role.clone());
        Some(role)
    }

    /// The metadata key of `token`, before it is added.
    pub fn key_of(token: &str) -> String {
        format!("{META_TOKEN_PREFIX}{}", hex(&digest(token)))
    }
}

fn unhex(s: &str) -> Option<DigestBytes> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller(pub Role);

impl Caller {
    /// The writer it acts as.
    pub fn actor(&self) -> Actor {
        self.0.actor()
    }

    /// Ok for the admin only.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.0 {
            Role::Admin => Ok(()),
            _ => Err(ApiError::forbidden("this needs an admin token")),
        }
    }

    /// Ok for the admin and tenants (not agents).
    pub fn require_not_agent(&self) -> Result<(), ApiError> {
        match self.0 {
            Role::Agent { .. } => Err(ApiError::forbidden("an agent token may not do this")),
            _ => Ok(()),
        }
    }

    /// True when the caller may see an object owned by `owner` (tenants see only their own).
    pub fn may_see(&self, owner: Option<&TenantId>) -> bool {
        match self.0.tenant() {
            None => true,
            Some(t) => owner == Some(t),
        }
    }
}

/// The role of `token`: a known token, or (on a shared store) one another server sharing
/// it minted since this one started.
pub async fn role_of(state: &AppState, token: &str) -> Option<Role> {
    let known = state
        .tokens
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .role_of(token);
    match known {
        Some(role) => Some(role),
        None if state.store.shared() => match state.store.read_meta(&Tokens::key_of(token)).await {
            Ok(Some(stored)) => state
                .tokens
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .learn(token, &stored),
            _ => None,
        },
        None => None,
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::unauthorized("send a token as Authorization: Bearer TOKEN"))?;
        match role_of(state, token).await {
            None => Err(ApiError::unauthorized("the token is not valid")),
            Some(Role::Peer) => Err(ApiError::forbidden(
                "a peer token opens /api/v1/gossip only",
            )),
            Some(role) => Ok(Caller(role)),
        }
    }
}
