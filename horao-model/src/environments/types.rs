//! Environment and resource values: identifiers, tags, endpoints, dependencies, the
//! environment lifecycle table, and the inputs of create and update calls.

use crate::error::Error;
use crate::error::Result;
use crate::storage::StateMachine;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ids::TenantId;
pub use crate::ids::{EnvironmentId, ResourceId};

/// Longest accepted tag, in bytes.
pub const MAX_TAG_LEN: usize = 64;
pub use crate::validate::{MAX_DESCRIPTION_LEN, MAX_ENDPOINT_LEN};

/// A tag: 1 to [`MAX_TAG_LEN`] bytes without whitespace or control characters, stored
/// lower-case so `Prod` and `prod` are one tag.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl<'de> Deserialize<'de> for Tag {
    /// A decoded tag passes the same rule, and must already be lower-case.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let t = Tag::new(&s).map_err(serde::de::Error::custom)?;
        if t.0 != s {
            return Err(serde::de::Error::custom(format!(
                "tag {s:?} is not lower-case"
            )));
        }
        Ok(t)
    }
}

impl Tag {
    /// Validates and normalizes a tag.
    pub fn new(s: &str) -> Result<Self> {
        if s.is_empty() || s.len() > MAX_TAG_LEN {
            return Err(Error::invalid(
                "tag",
                format!("must be 1 to {MAX_TAG_LEN} bytes"),
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::invalid("tag", "must not contain whitespace"));
        }
        Ok(Self(s.to_lowercase()))
    }

    /// The tag as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a resource depends on: another resource of the model, or something outside it
/// (named by an external id such as a DNS name or a cloud resource id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dependency {
    /// A resource in the model.
    Resource(ResourceId),
    /// An external id.
    External(String),
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dependency::Resource(r) => write!(f, "{r}"),
            Dependency::External(e) => write!(f, "external:{e}"),
        }
    }
}

/// Name and description of an environment or resource (one register: they change together
/// and rarely).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Described {
    /// Human-readable name.
    pub name: String,
    /// Free text.
    pub description: String,
}

/// Lifecycle of an environment.
///
/// ```text
/// deploying           → deployed_validating
/// deployed_validating → deployed_ok | deployed_failed
/// deployed_ok         → destroying
/// deployed_failed     → destroying
/// destroying          → destroyed
/// destroyed           → (none)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentStatus {
    /// Being deployed.
    Deploying,
    /// Deployed; checks are running.
    DeployedValidating,
    /// Deployed and healthy.
    DeployedOk,
    /// Deployed but the checks failed.
    DeployedFailed,
    /// Being torn down.
    Destroying,
    /// Gone.
    Destroyed,
}

impl StateMachine for EnvironmentStatus {
    const ENTITY: &'static str = "environment";
    const ALL: &'static [Self] = &[
        Self::Deploying,
        Self::DeployedValidating,
        Self::DeployedOk,
        Self::DeployedFailed,
        Self::Destroying,
        Self::Destroyed,
    ];
    fn next(self) -> &'static [Self] {
        match self {
            Self::Deploying => &[Self::DeployedValidating],
            Self::DeployedValidating => &[Self::DeployedOk, Self::DeployedFailed],
            Self::DeployedOk | Self::DeployedFailed => &[Self::Destroying],
            Self::Destroying => &[Self::Destroyed],
            Self::Destroyed => &[],
        }
    }
    fn name(self) -> &'static str {
        match self {
            Self::Deploying => "deploying",
            Self::DeployedValidating => "deployed_validating",
            Self::DeployedOk => "deployed_ok",
            Self::DeployedFailed => "deployed_failed",
            Self::Destroying => "destroying",
            Self::Destroyed => "destroyed",
        }
    }
}

impl fmt::Display for EnvironmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields of an environment, for create (all used) and update (`None` leaves a field
/// alone; a list replaces the set, keeping concurrent additions by others).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Entry points (URLs users reach the environment by).
    pub entry_points: Option<Vec<String>>,
    /// Status endpoints (URLs reporting health).
    pub status_endpoints: Option<Vec<String>>,
    /// The tenant that owns it (set on create; it may then manage it itself).
    pub tenant: Option<TenantId>,
}

/// The fields of a resource, for create and update (as [`EnvironmentInput`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInput {
    /// Name (required on create).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: Option<Vec<String>>,
    /// Status endpoints.
    pub status_endpoints: Option<Vec<String>>,
    /// The tenant that owns it (set on create).
    pub tenant: Option<TenantId>,
}
