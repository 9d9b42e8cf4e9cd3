//! Labels: the one label type of the model, for datacenters, racks, devices, machines,
//! volumes, tenant constraints and placement requirements.
//!
//! A label is a bare key (`ssd`) or a key with a value (`zone=a`). **The label rule**: the key
//! is 1 to [`MAX_LABEL_KEY_LEN`] bytes and the value 1 to [`MAX_LABEL_VALUE_LEN`] bytes, both
//! of ASCII letters, digits, `-`, `_`, `.`, `/` and `:`, the key starting with a letter or a
//! digit; `key=` with an empty value is refused (write the bare key). [`Label::new`] is the
//! one parser; decoding runs it too.
//!
//! An entity carries labels; a requirement (a volume's `require_labels`, a tenant's label
//! constraint, a capacity scope) lists labels a carrier must satisfy: a required bare key is
//! met by any label with that key, a required `key=value` only by that exact label
//! ([`Label::is_met_by`]). A label list holds at most one value per key ([`normalize`]).

use crate::error::{Error, Result};
use horao_crdt::{OrSet, Tx};
use std::collections::BTreeMap;
use std::fmt;

/// Longest label key accepted, in bytes.
pub const MAX_LABEL_KEY_LEN: usize = 128;
/// Longest label value accepted, in bytes.
pub const MAX_LABEL_VALUE_LEN: usize = 128;

/// A validated label: `key` or `key=value`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

fn check_part(field: &str, part: &str, what: &str, max: usize) -> Result<()> {
    let reason = if part.is_empty() {
        format!("{what} must not be empty")
    } else if part.len() > max {
        format!("{what} is {} bytes long, at most {max} allowed", part.len())
    } else if let Some(c) = part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':')))
    {
        format!(
            "{what} contains {c:?}; only ASCII letters, digits, '-', '_', '.', '/' and ':' are allowed"
        )
    } else {
        return Ok(());
    };
    Err(Error::invalid(field, reason))
}

impl Label {
    /// Parses and validates `key` or `key=value`; `field` names the field in the error
    /// (`volume.labels`).
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let (key, value) = match s.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (s, None),
        };
        check_part(field, key, "the key", MAX_LABEL_KEY_LEN)?;
        if !key.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid(
                field,
                format!("the key {key:?} must start with a letter or a digit"),
            ));
        }
        if let Some(v) = value {
            check_part(field, v, "the value", MAX_LABEL_VALUE_LEN)?;
        }
        Ok(Label(s.to_string()))
    }

    /// [`Label::parse`] with the field named `label`.
    pub fn new(s: &str) -> Result<Self> {
        Self::parse("label", s)
    }

    /// The label `key=value`, or the bare `key` when `value` is empty.
    pub fn pair(field: &str, key: &str, value: &str) -> Result<Self> {
        if value.is_empty() {
            Self::parse(field, key)
        } else {
            if key.contains('=') {
                return Err(Error::invalid(
                    field,
                    format!("the key {key:?} contains '='"),
                ));
            }
            Self::parse(field, &format!("{key}={value}"))
        }
    }

    /// The label as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key.
    pub fn key(&self) -> &str {
        self.0.split_once('=').map_or(&self.0, |(k, _)| k)
    }

    /// The value; empty for a bare key.
    pub fn value(&self) -> &str {
        self.0.split_once('=').map_or("", |(_, v)| v)
    }

    /// True when this label, as a requirement, is met by the carried label `carried`: same
    /// key, and same value unless this is a bare key.
    pub fn is_met_by(&self, carried: &Label) -> bool {
        self.key() == carried.key() && (self.value().is_empty() || self.value() == carried.value())
    }

    /// True when some label of `carried` meets this requirement.
    pub fn is_met_by_any<'a>(&self, carried: impl IntoIterator<Item = &'a Label>) -> bool {
        carried.into_iter().any(|c| self.is_met_by(c))
    }
}

/// The first label of `required` that no label of `carried` meets; `None` when all are met.
pub fn first_unmet<'a, 'b>(
    required: impl IntoIterator<Item = &'a Label>,
    carried: impl IntoIterator<Item = &'b Label>,
) -> Option<&'a Label> {
    let carried: Vec<&Label> = carried.into_iter().collect();
    required
        .into_iter()
        .find(|r| !r.is_met_by_any(carried.iter().copied()))
}

/// Sorts and deduplicates a label list and checks that it holds one value per key, so equal
/// sets compare and encode equally; `field` names the list in the error.
pub fn normalize(field: &str, mut labels: Vec<Label>) -> Result<Vec<Label>> {
    labels.sort();
    labels.dedup();
    if let Some(w) = labels.windows(2).find(|w| w[0].key() == w[1].key()) {
        return Err(Error::invalid(
            field,
            format!(
                "key {} is given two values ({} and {})",
                w[0].key(),
                w[0],
                w[1]
            ),
        ));
    }
    Ok(labels)
}

/// Labels as a JSON-style map from key to value (empty for a bare key). Where several labels
/// share a key (concurrent edits of an add-wins label set), the greatest one is shown.
pub fn to_map<'a>(labels: impl IntoIterator<Item = &'a Label>) -> BTreeMap<String, String> {
    labels
        .into_iter()
        .map(|l| (l.key().to_string(), l.value().to_string()))
        .collect()
}

/// Parses a key-to-value map (empty value: bare key) into a normalized label list.
pub fn from_map(field: &str, map: &BTreeMap<String, String>) -> Result<Vec<Label>> {
    let labels = map
        .iter()
        .map(|(k, v)| Label::pair(field, k, v))
        .collect::<Result<Vec<_>>>()?;
    normalize(field, labels)
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Label {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Label::new(s)
    }
}

impl serde::Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A label in JSON: `key` or `key=value`.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for Label {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("Label")
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A label: `key` or `key=value`",
            "minLength": 1,
        })
    }
}

impl<'de> serde::Deserialize<'de> for Label {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Label::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Delta adding (`present`) or removing `label` of an add-wins label set. Adding `key=value`
/// also removes the set's other labels with that key, so a set holds one value per key
/// (concurrent edits can still leave two, which the view shows as the greatest).
pub(crate) fn set_label(
    set: &OrSet<Label>,
    label: &Label,
    present: bool,
    tx: &mut Tx,
) -> Result<OrSet<Label>> {
    if !present {
        return Ok(set.remove(label, tx));
    }
    let mut delta = set.add(label.clone(), tx);
    for old in set.iter().filter(|l| l.key() == label.key() && *l != label) {
        delta = horao_crdt::combine(delta, set.remove(old, tx))?;
    }
    Ok(delta)
}

/// Delta adding every label of `labels` (a normalized list) to an add-wins label set.
pub(crate) fn add_labels(
    set: &OrSet<Label>,
    labels: &[Label],
    tx: &mut Tx,
) -> Result<OrSet<Label>> {
    let mut delta = OrSet::default();
    for l in labels {
        delta = horao_crdt::combine(delta, set_label(set, l, true, tx)?)?;
    }
    Ok(delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str) -> Label {
        Label::new(s).unwrap()
    }

    #[test]
    fn the_label_rule() {
        for ok in ["ssd", "zone=a", "topology.io/zone=eu-west:1", "9x"] {
            assert_eq!(l(ok).as_str(), ok);
        }
        let cases = [
            ("", "the key must not be empty"),
            ("=a", "the key must not be empty"),
            ("zone=", "the value must not be empty"),
            ("a b", "the key contains ' '"),
            ("zone=a b", "the value contains ' '"),
            ("zone=a=b", "the value contains '='"),
            (".x", "must start with a letter or a digit"),
            ("k=é", "the value contains 'é'"),
        ];
        for (bad, why) in cases {
            let e = Label::parse("volume.labels", bad).unwrap_err().to_string();
            assert!(e.starts_with("invalid volume.labels: "), "{e}");
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(Label::new(&"k".repeat(MAX_LABEL_KEY_LEN + 1)).is_err());
        assert!(Label::new(&format!("k={}", "v".repeat(MAX_LABEL_VALUE_LEN + 1))).is_err());
    }

    #[test]
    fn requirements() {
        assert!(l("ssd").is_met_by(&l("ssd")));
        assert!(l("zone").is_met_by(&l("zone=a")));
        assert!(l("zone=a").is_met_by(&l("zone=a")));
        assert!(!l("zone=a").is_met_by(&l("zone=b")));
        assert!(!l("zone=a").is_met_by(&l("zone")));
        assert!(!l("ssd").is_met_by(&l("ssd2")));
        let carried = [l("ssd"), l("zone=a")];
        let req = [l("zone"), l("ssd"), l("rack=1")];
        assert_eq!(first_unmet(&req, &carried), Some(&l("rack=1")));
        assert_eq!(first_unmet(&req[..2], &carried), None);
    }

    #[test]
    fn lists_hold_one_value_per_key() {
        let n = normalize("x", vec![l("b"), l("a=1"), l("b")]).unwrap();
        assert_eq!(n, vec![l("a=1"), l("b")]);
        let e = normalize("x", vec![l("zone=a"), l("zone=b")]).unwrap_err();
        assert!(
            e.to_string().contains("key zone is given two values"),
            "{e}"
        );
        let map = to_map(&n);
        assert_eq!(from_map("x", &map).unwrap(), n);
        assert_eq!(map.get("b").map(String::as_str), Some(""));
    }

    #[test]
    fn decoding_checks_the_rule_too() {
        assert_eq!(
            serde_json::from_str::<Label>("\"zone=a\"").unwrap(),
            l("zone=a")
        );
        assert!(serde_json::from_str::<Label>("\"zone=\"").is_err());
    }
}
