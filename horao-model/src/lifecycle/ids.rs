//! Typed identifiers of storage and compute entities, and the validated label type.

use crate::error::{Error, Result};

/// Longest accepted identifier or label, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Checks an identifier: 1 to [`MAX_ID_LEN`] bytes of ASCII letters, digits and `. _ - : /`.
/// `field` names the field in the error (for example `volume.id`).
pub fn validate_id(field: &str, s: &str) -> Result<()> {
    let reason = if s.is_empty() {
        "must not be empty".to_string()
    } else if s.len() > MAX_ID_LEN {
        format!("longer than {MAX_ID_LEN} bytes")
    } else if let Some(c) = s.chars().find(|c| !is_id_char(*c)) {
        format!("character {c:?} not allowed (use letters, digits and . _ - : /)")
    } else {
        return Ok(());
    };
    Err(Error::InvalidField {
        field: field.to_string(),
        reason,
    })
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier (see [`crate::lifecycle::validate_id`]).
            pub fn new(s: impl Into<String>) -> $crate::error::Result<Self> {
                let s = s.into();
                $crate::lifecycle::validate_id($field, &s)?;
                Ok(Self(s))
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> $crate::error::Result<Self> {
                Self::new(s)
            }
        }
    };
}
pub(crate) use id_type;

id_type!(
    /// Identifier of a storage host (machine).
    MachineId,
    "machine.id"
);
id_type!(
    /// Identifier of a volume.
    VolumeId,
    "volume.id"
);
id_type!(
    /// Identifier of an image.
    ImageId,
    "image.id"
);
id_type!(
    /// Identifier of a compute instance.
    InstanceId,
    "instance.id"
);
id_type!(
    /// Identifier of a storage pool (a group of hosts holding image replicas).
    PoolId,
    "pool.id"
);
id_type!(
    /// A label: a machine carries labels, a volume's resource filters name the labels a
    /// machine must carry to hold it (for example `ssd` or `zone=a`).
    Label,
    "label"
);

/// Sorts and deduplicates labels, so equal sets compare and encode equally.
pub fn normalize_labels(mut labels: Vec<Label>) -> Vec<Label> {
    labels.sort();
    labels.dedup();
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_validated() {
        assert!(VolumeId::new("vol-1").is_ok());
        assert!(VolumeId::new("dc1/rack:2_a.b").is_ok());
        let e = VolumeId::new("").unwrap_err();
        assert_eq!(e.to_string(), "invalid volume.id: must not be empty");
        let e = MachineId::new("a b").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid machine.id: character ' '")
        );
        assert!(ImageId::new("x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(ImageId::new("x".repeat(MAX_ID_LEN)).is_ok());
    }
}
