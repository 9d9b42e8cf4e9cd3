//! Typed identifiers of storage and compute entities, and the validated label type.

use crate::error::{Error, Result};

/// Longest accepted identifier or label, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// Checks an identifier: 1 to [`MAX_ID_LEN`] bytes of ASCII letters, digits and `. _ - : /`.
/// `field` names the field in the error (for example `volume.id`).
pub fn validate_id(field: &str, s: &str) -> Result<()> {
    validate_chars(field, s, "")
}

/// Checks a label: like an identifier, and `=` is allowed too, for `key=value` labels.
pub fn validate_label(field: &str, s: &str) -> Result<()> {
    validate_chars(field, s, "=")
}

fn validate_chars(field: &str, s: &str, extra: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_:/".contains(c) || extra.contains(c);
    let reason = if s.is_empty() {
        "must not be empty".to_string()
    } else if s.len() > MAX_ID_LEN {
        format!("longer than {MAX_ID_LEN} bytes")
    } else if let Some(c) = s.chars().find(|c| !allowed(*c)) {
        format!("character {c:?} not allowed (use letters, digits and . _ - : /{extra})")
    } else {
        return Ok(());
    };
    Err(Error::InvalidField {
        field: field.to_string(),
        reason,
    })
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        id_type!($(#[$doc])* $name, $field, $crate::lifecycle::validate_id);
    };
    ($(#[$doc:meta])* $name:ident, $field:literal, $check:path) => {
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
                $check($field, &s)?;
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
    "label",
    crate::lifecycle::validate_label
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

    #[test]
    fn labels_may_be_key_value_pairs_but_ids_may_not() {
        assert_eq!(
            Label::new("zone=a").map(|l| l.to_string()),
            Ok("zone=a".into())
        );
        let e = VolumeId::new("zone=a").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid volume.id: character '='")
        );
        let e = Label::new("zone a").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid label: character ' '"),
            "{e}"
        );
    }
}
