//! Every entity id of the model, under one rule, declared by one macro.
//!
//! **The id rule**: 1 to [`MAX_ID_LEN`] bytes of ASCII letters, digits, `-`, `_` and `.`, not
//! starting with `.`. So an id is always one safe URL path segment, file name and scenario
//! word, never `.` or `..`. An id is checked when it is constructed ([`DatacenterId::new`],
//! `FromStr`) and when it is decoded — from a peer's delta, a stored snapshot or a JSON
//! request — since each type's `Deserialize` runs the same check: no code path holds an
//! invalid id.

use crate::error::{Error, Result};

/// Longest id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Checks `s` against the id rule; `kind` names the entity in the error (`volume.id`).
pub fn check_id(kind: &str, s: &str) -> Result<()> {
    check_id_field(&format!("{kind}.id"), s)
}

/// Checks `s` against the id rule; `field` names the field in the error (`volume.name`).
pub fn check_id_field(field: &str, s: &str) -> Result<()> {
    let reason = if s.is_empty() {
        "must not be empty".to_string()
    } else if s.len() > MAX_ID_LEN {
        format!("is {} bytes long, at most {MAX_ID_LEN} allowed", s.len())
    } else if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        format!("contains {c:?}; only ASCII letters, digits, '-', '_' and '.' are allowed")
    } else if s.starts_with('.') {
        "must not start with '.'".to_string()
    } else {
        return Ok(());
    };
    Err(Error::invalid(field, reason))
}

/// The JSON Schema of an id of `kind`: a string under the id rule.
#[cfg(feature = "schema")]
pub fn id_schema(kind: &str) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "description": format!("A {kind} id: ASCII letters, digits, '-', '_' and '.', not starting with '.'"),
        "minLength": 1,
        "maxLength": MAX_ID_LEN,
        "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]*$",
    })
}

/// Declares a string id newtype: validated on construction and on decoding, ordered,
/// displayed and serialized as the bare string. The text is held in a `String`, or with
/// `shared` first in an `Arc<str>`, for ids the model copies into derived indexes many times
/// over (a clone then shares the text instead of copying it; 16 bytes inline instead of 24).
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $kind:literal) => {
        id_type!(String; $(#[$meta])* $name, $kind, concat!($kind, ".id"));
    };
    ($(#[$meta:meta])* $name:ident, $kind:literal, $field:expr) => {
        id_type!(String; $(#[$meta])* $name, $kind, $field);
    };
    (shared $(#[$meta:meta])* $name:ident, $kind:literal) => {
        id_type!(::std::sync::Arc<str>; $(#[$meta])* $name, $kind, concat!($kind, ".id"));
    };
    ($repr:ty; $(#[$meta:meta])* $name:ident, $kind:literal, $field:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($repr);

        impl $name {
            /// The entity kind this id names, as used in errors, conflicts and API paths.
            pub const KIND: &'static str = $kind;

            /// A validated id (see [`crate::ids`] for the rule).
            pub fn new(s: impl Into<String>) -> $crate::error::Result<Self> {
                let s: String = s.into();
                $crate::ids::check_id_field($field, &s)?;
                Ok(Self(<$repr>::from(s)))
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

        impl ::std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(
                &self,
                s: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        #[cfg(feature = "schema")]
        impl ::schemars::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut ::schemars::SchemaGenerator) -> ::schemars::Schema {
                $crate::ids::id_schema($kind)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> ::std::result::Result<Self, D::Error> {
                let s = <String as ::serde::Deserialize>::deserialize(d)?;
                Self::new(s).map_err(::serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// Identifies a datacenter.
    DatacenterId,
    "datacenter"
);
id_type!(
    /// Identifies a row of racks within a datacenter.
    RowId,
    "row"
);
id_type!(
    /// Identifies a rack (cabinet).
    RackId,
    "rack"
);
id_type!(
    /// Identifies a device: server, chassis, blade, storage host, switch, router or firewall.
    DeviceId,
    "device"
);
id_type!(
    /// Identifies a network link between two ports.
    LinkId,
    "link"
);
id_type!(
    /// Identifies a logical infrastructure.
    InfraId,
    "infrastructure"
);
id_type!(
    /// Identifies a tenant.
    TenantId,
    "tenant"
);
id_type!(
    /// Identifies a resource profile.
    ProfileId,
    "profile"
);
id_type!(
    /// Identifies a claim (a reservation or a maintenance window; they share one id space).
    ClaimId,
    "claim"
);
id_type!(
    shared
    /// Identifies a storage host (machine). Held in an `Arc<str>`: every volume names its
    /// machine twice (assignment and report), and the storage index by machine once more.
    MachineId,
    "machine"
);
id_type!(
    shared
    /// Identifies a volume. Held in an `Arc<str>`: the storage index, operations and image
    /// replicas share the table key's text (one copy per volume, not three).
    VolumeId,
    "volume"
);
id_type!(
    /// A volume's name, unique among volumes: under the id rule, so it is always a safe
    /// subvolume name on the agent's filesystem and a safe URL segment.
    VolumeName,
    "volume",
    "volume.name"
);
id_type!(
    /// Identifies an image.
    ImageId,
    "image"
);
id_type!(
    /// Identifies a compute instance.
    InstanceId,
    "instance"
);
id_type!(
    /// Identifies a storage pool (a group of hosts holding image replicas).
    PoolId,
    "pool"
);
id_type!(
    /// Identifies an environment.
    EnvironmentId,
    "environment"
);
id_type!(
    /// Identifies a resource of an environment.
    ResourceId,
    "resource"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_rule() {
        for ok in ["a", "vol-1", "rack_2.b", "A9", &"x".repeat(MAX_ID_LEN)] {
            assert!(VolumeId::new(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("", "must not be empty"),
            ("a b", "contains ' '"),
            ("a/b", "contains '/'"),
            ("a:b", "contains ':'"),
            ("zone=a", "contains '='"),
            ("é", "contains 'é'"),
            ("a\0", "contains '\\0'"),
            (".hidden", "must not start with '.'"),
            ("..", "must not start with '.'"),
        ];
        for (bad, why) in cases {
            let e = DeviceId::new(bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid device.id: "), "{e}");
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert!(MachineId::new(long).is_err());
    }

    #[test]
    fn decoding_checks_the_rule_too() {
        let ok: DatacenterId = serde_json::from_str("\"dc-1\"").unwrap();
        assert_eq!(ok.as_str(), "dc-1");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"dc-1\"");
        let e = serde_json::from_str::<DatacenterId>("\"../etc\"").unwrap_err();
        assert!(e.to_string().contains("invalid datacenter.id"), "{e}");
    }
}
