//! The storage records whose stored shape schema 3 changed, as schema 2 stored them, and
//! their migration: read while a schema-2 document is decoded
//! ([`crate::schema::decoding_as`]), they become the current records with the new fields
//! empty (no orphans, no nested subvolumes, no home machine, no machine that rejected a
//! volume).

use super::state::{MachineState, VolumeState};
use super::types::{ImageOrigin, VolumeOp};
use serde::Deserialize;

/// A machine report of schema 2.
#[derive(Deserialize)]
pub(super) struct MachineReport {
    state: MachineState,
    capacity_bytes: u64,
    used_bytes: u64,
}

impl From<MachineReport> for super::MachineReport {
    fn from(r: MachineReport) -> Self {
        super::MachineReport {
            state: r.state,
            capacity_bytes: r.capacity_bytes,
            used_bytes: r.used_bytes,
            orphans: Vec::new(),
        }
    }
}

/// A volume report of schema 2.
#[derive(Deserialize)]
pub(super) struct VolumeReport {
    state: VolumeState,
    used_bytes: u64,
    limit_bytes: u64,
    initialized: bool,
    degraded: bool,
    reason: String,
}

impl From<VolumeReport> for super::VolumeReport {
    fn from(r: VolumeReport) -> Self {
        super::VolumeReport {
            state: r.state,
            used_bytes: r.used_bytes,
            limit_bytes: r.limit_bytes,
            initialized: r.initialized,
            degraded: r.degraded,
            reason: r.reason,
            nested: Vec::new(),
        }
    }
}

/// A volume's desired state in schema 2.
#[derive(Deserialize)]
pub(super) struct DesiredVolume {
    state: VolumeState,
    op: Option<Box<VolumeOp>>,
    attempt: u32,
}

impl From<DesiredVolume> for super::DesiredVolume {
    fn from(d: DesiredVolume) -> Self {
        super::DesiredVolume {
            state: d.state,
            op: d.op,
            attempt: d.attempt,
            rejected_by: Vec::new(),
        }
    }
}

/// An image spec of schema 2.
#[derive(Deserialize)]
pub(super) struct ImageSpec {
    name: String,
    size_bytes: u64,
    origin: ImageOrigin,
}

impl From<ImageSpec> for super::ImageSpec {
    fn from(s: ImageSpec) -> Self {
        super::ImageSpec {
            name: s.name,
            size_bytes: s.size_bytes,
            origin: s.origin,
            home: None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::ids::{MachineId, VolumeId};
    use crate::schema::decoding_as;
    use crate::storage::{ImageSpec as Image, MachineReport as Machine, VolumeReport as Volume};
    use horao_crdt::wire::{self, Kind};
    use serde::Serialize;
    use std::str::FromStr;

    /// The schema-2 shapes, written as schema 2 wrote them.
    #[derive(Serialize)]
    struct OldMachine(MachineState, u64, u64);
    #[derive(Serialize)]
    struct OldVolume(VolumeState, u64, u64, bool, bool, String);
    #[derive(Serialize)]
    struct OldImage(String, u64, ImageOrigin);

    fn read<T: serde::de::DeserializeOwned>(version: u16, bytes: &[u8]) -> T {
        decoding_as(version, || wire::decode(Kind::State, bytes, 1 << 20)).unwrap()
    }

    #[test]
    fn schema_2_records_are_read_and_migrated() {
        let m = wire::encode(Kind::State, &OldMachine(MachineState::Ready, 100, 7)).unwrap();
        let got: Machine = read(2, &m);
        assert_eq!(
            (got.state, got.capacity_bytes, got.used_bytes),
            (MachineState::Ready, 100, 7)
        );
        assert!(got.orphans.is_empty());

        let old = OldVolume(VolumeState::Failed, 5, 9, true, false, "no space".into());
        let got: Volume = read(2, &wire::encode(Kind::State, &old).unwrap());
        assert_eq!(
            (got.used_bytes, got.limit_bytes, got.reason.as_str()),
            (5, 9, "no space")
        );
        assert!(got.initialized && !got.degraded && got.nested.is_empty());

        let origin = ImageOrigin::Volume(VolumeId::from_str("vol-1").unwrap());
        let got: Image = read(
            2,
            &wire::encode(Kind::State, &OldImage("deb".into(), 3, origin.clone())).unwrap(),
        );
        assert_eq!(
            (got.name.as_str(), got.size_bytes, got.origin),
            ("deb", 3, origin)
        );
        assert_eq!(got.home, None);
    }

    #[test]
    fn schema_3_records_round_trip_and_are_not_read_as_schema_2() {
        let report = Machine {
            state: MachineState::Ready,
            capacity_bytes: 100,
            used_bytes: 7,
            orphans: vec!["stray".into(), "x/y".into()],
        };
        let bytes = wire::encode(Kind::State, &report).unwrap();
        assert_eq!(read::<Machine>(3, &bytes), report);
        // Outside `decoding_as`, the current shape is read.
        let plain: Machine = wire::decode(Kind::State, &bytes, 1 << 20).unwrap();
        assert_eq!(plain, report);
        // The schema-2 reader stops before the orphans: the bytes are not a schema-2 record.
        assert!(decoding_as(2, || wire::decode::<Machine>(Kind::State, &bytes, 1 << 20)).is_err());

        let spec = Image {
            name: "deb".into(),
            size_bytes: 3,
            origin: ImageOrigin::Url("http://x/y".into()),
            home: Some(MachineId::from_str("st-1").unwrap()),
        };
        let bytes = wire::encode(Kind::State, &spec).unwrap();
        assert_eq!(read::<Image>(3, &bytes), spec);
    }

    #[test]
    fn the_decoding_version_is_restored_after_a_decode() {
        assert_eq!(crate::schema::decoding(), crate::snapshot::SCHEMA_VERSION);
        decoding_as(2, || assert_eq!(crate::schema::decoding(), 2));
        let caught = std::panic::catch_unwind(|| decoding_as(2, || panic!("decode failed")));
        assert!(caught.is_err());
        assert_eq!(crate::schema::decoding(), crate::snapshot::SCHEMA_VERSION);
    }
}
