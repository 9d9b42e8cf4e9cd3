//! Decoded ids and labels are checked exactly like constructed ones: a snapshot or a delta
//! holding one that breaks the rule is refused with a typed error carrying the rule's own
//! message, wherever the id is stored (a table key or a reference).
//!
//! The bad inputs are valid encodings with one string changed in place, same length, so
//! only the rule can refuse them.

use crate::formats::every_layer;
use horao_crdt::wire::{self, Kind};
use horao_crdt::{Causal, Error as CrdtError};
use horao_model::ids::*;
use horao_model::model::Model;
use horao_model::snapshot::{decode_snapshot, encode_snapshot};
use horao_model::{Error, Label};

/// The message a constructed id of type `I` gets for `s`.
fn rule<I: std::str::FromStr<Err = Error>>(s: &str) -> String {
    s.parse::<I>().err().expect("a bad id").to_string()
}

/// What constructing an id of some type from a string gives.
type Rule = fn(&str) -> String;

/// One id of each kind in [`every_layer`] (and a volume name, under the same rule), and its
/// type's rule.
fn ids() -> Vec<(&'static str, Rule)> {
    vec![
        ("dc-a", rule::<DatacenterId>),
        ("r1", rule::<RowId>),
        ("k1", rule::<RackId>),
        ("n1", rule::<DeviceId>),
        ("l1", rule::<LinkId>),
        ("i1", rule::<InfraId>),
        ("t1", rule::<TenantId>),
        ("p1", rule::<ProfileId>),
        ("c1", rule::<ClaimId>),
        ("m1", rule::<ClaimId>),
        ("st-1", rule::<MachineId>),
        ("vol-1", rule::<VolumeId>),
        ("data-1", rule::<VolumeName>),
        ("img-1", rule::<ImageId>),
        ("vm-1", rule::<InstanceId>),
        ("pool-1", rule::<PoolId>),
        ("shop", rule::<EnvironmentId>),
        ("db", rule::<ResourceId>),
    ]
}

/// The offsets at which `s` is stored as a string (its one-byte length, then its bytes).
fn occurrences(bytes: &[u8], s: &str) -> Vec<usize> {
    let mut needle = vec![u8::try_from(s.len()).unwrap()];
    needle.extend_from_slice(s.as_bytes());
    bytes
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle.as_slice())
        .map(|(i, _)| i + 1)
        .collect()
}

/// `bytes` with the string at `at` replaced by `with` (of the same length).
fn replaced(bytes: &[u8], at: usize, with: &str) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + with.len()].copy_from_slice(with.as_bytes());
    out
}

/// `s` broken three ways: a '/' for its last byte, a ':' (allowed before the one id rule)
/// for it, and a leading '.'.
fn broken(s: &str) -> [String; 3] {
    let head = &s[..s.len() - 1];
    [
        format!("{head}/"),
        format!("{head}:"),
        format!(".{}", &s[1..]),
    ]
}

/// Asserts that `result` is the wire decoder's refusal carrying `message`.
fn assert_refused<T: std::fmt::Debug>(
    result: std::result::Result<T, CrdtError>,
    message: &str,
    context: &str,
) {
    match result {
        Err(CrdtError::Malformed(m)) => assert!(m.contains(message), "{context}: {m}"),
        other => panic!("{context}: expected a refusal carrying {message:?}, got {other:?}"),
    }
}

#[test]
fn a_snapshot_holding_a_bad_id_is_refused_wherever_the_id_is_stored() {
    let state = every_layer().replica("a").causal().clone();
    let bytes = encode_snapshot(&state).unwrap();
    let mut tried = 0;
    for (id, rule) in ids() {
        let at = occurrences(&bytes, id);
        assert!(!at.is_empty(), "{id} is not in the snapshot");
        for &i in &at {
            for bad in broken(id) {
                let input = replaced(&bytes, i, &bad);
                let context = format!("{id} -> {bad} at byte {i}");
                match decode_snapshot(&input, 1 << 20) {
                    Err(Error::Crdt(e)) => assert_refused(Err::<(), _>(e), &rule(&bad), &context),
                    other => panic!("{context}: expected a refusal, got {other:?}"),
                }
                tried += 1;
            }
        }
    }
    // Every id kind, in its table and in the references to it.
    assert!(tried > 3 * 30, "only {tried} corruptions tried");
    // The unchanged bytes decode.
    assert_eq!(decode_snapshot(&bytes, 1 << 20).unwrap(), state);
}

#[test]
fn a_snapshot_holding_a_bad_label_is_refused() {
    let state = every_layer().replica("a").causal().clone();
    let bytes = encode_snapshot(&state).unwrap();
    // Device, datacenter and machine labels, volume requirements, tenant constraints.
    for (label, bad) in [
        ("gpu", "gp "),
        ("eu", "e="),
        ("rack=k1", "rack=k "),
        ("disk=nvme", "disk=nv e"),
        ("zone=dc-a", "zone=dc-="),
    ] {
        let expected = Label::new(bad).unwrap_err().to_string();
        let at = occurrences(&bytes, label);
        assert!(!at.is_empty(), "{label} is not in the snapshot");
        for i in at {
            let input = replaced(&bytes, i, bad);
            match decode_snapshot(&input, 1 << 20) {
                Err(Error::Crdt(e)) => assert_refused(Err::<(), _>(e), &expected, label),
                other => panic!("{label}: expected a refusal, got {other:?}"),
            }
        }
    }
}

#[test]
fn a_delta_holding_a_bad_id_is_refused() {
    // Deltas of every layer: each names new ids and refers to existing ones.
    let mut w = every_layer();
    let commands: [(&str, &[(&str, Rule)]); 6] = [
        (
            "device n3 rack=k1 unit=5 ports=eth0:1000",
            &[("n3", rule::<DeviceId>), ("k1", rule::<RackId>)],
        ),
        (
            "link l3 a=n3:eth0 b=sw1:mgmt speed=1000",
            &[("l3", rule::<LinkId>), ("sw1", rule::<DeviceId>)],
        ),
        (
            "reserve c2 infra=i1 tenant=t1 profile=p1 count=1 window=0..10",
            &[
                ("c2", rule::<ClaimId>),
                ("t1", rule::<TenantId>),
                ("p1", rule::<ProfileId>),
            ],
        ),
        (
            "volume-assign vol-2 st-2 by=server",
            &[("vol-2", rule::<VolumeId>), ("st-2", rule::<MachineId>)],
        ),
        (
            "dep-add api external:dns.example",
            &[("api", rule::<ResourceId>)],
        ),
        (
            "env-add shop db",
            &[("shop", rule::<EnvironmentId>), ("db", rule::<ResourceId>)],
        ),
    ];
    for (cmd, names) in commands {
        assert_eq!(w.run("a", cmd), "ok", "{cmd}");
        let delta = w.take_delta("a").unwrap();
        let bytes = wire::encode_causal(Kind::Delta, &delta).unwrap();
        let back: Causal<Model> = wire::decode_causal(Kind::Delta, &bytes, 1 << 20).unwrap();
        assert_eq!(back, delta);
        for (name, rule) in names {
            let at = occurrences(&bytes, name);
            assert!(!at.is_empty(), "{name} is not in the delta of {cmd}");
            for bad in broken(name) {
                for &i in &at {
                    let input = replaced(&bytes, i, &bad);
                    assert_refused(
                        wire::decode_causal::<Model>(Kind::Delta, &input, 1 << 20),
                        &rule(&bad),
                        &format!("{cmd}: {name} -> {bad} at byte {i}"),
                    );
                }
            }
        }
    }
}
