//! Typed identifiers of the model's entities, validated at the API boundary.

use crate::error::{Error, Result};

/// Longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// Checks that `s` is a usable id: 1 to [`MAX_ID_LEN`] bytes of ASCII letters, digits, `-`,
/// `_` or `.`, so ids can appear in URLs and in the scenario files unescaped.
pub(crate) fn check_id(kind: &'static str, s: &str) -> Result<()> {
    let reason = if s.is_empty() {
        "must not be empty".to_string()
    } else if s.len() > MAX_ID_LEN {
        format!("is {} bytes long, at most {MAX_ID_LEN} allowed", s.len())
    } else if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        format!("contains {c:?}; only ASCII letters, digits, '-', '_' and '.' are allowed")
    } else {
        return Ok(());
    };
    Err(Error::InvalidField {
        field: format!("{kind}.id"),
        reason,
    })
}

/// Declares a string id newtype with validation, ordering and transparent serde.
macro_rules! entity_id {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        $(#[$meta])*
        #[derive(
            Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The entity kind this id names, as used in errors and conflicts.
            pub const KIND: &'static str = $kind;

            /// A validated id (see [`crate::physical::ids::MAX_ID_LEN`] for the rules).
            pub fn new(s: impl Into<String>) -> $crate::error::Result<Self> {
                let s = s.into();
                $crate::physical::ids::check_id($kind, &s)?;
                Ok(Self(s))
            }

            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                Self::new(s)
            }
        }
    };
}
pub(crate) use entity_id;

entity_id!(
    /// Identifies a datacenter.
    DatacenterId,
    "datacenter"
);
entity_id!(
    /// Identifies a row of racks within a datacenter.
    RowId,
    "row"
);
entity_id!(
    /// Identifies a rack (cabinet).
    RackId,
    "rack"
);
entity_id!(
    /// Identifies a device: server, chassis, blade, storage host, switch, router or firewall.
    DeviceId,
    "device"
);
entity_id!(
    /// Identifies a network link between two ports.
    LinkId,
    "link"
);
