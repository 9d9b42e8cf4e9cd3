//! Conflicts of the physical layer: what concurrent edits of racks, devices and links can
//! break that a single replica refuses, reported identically by every replica that merged
//! the same edits.

use super::index::Parent;
use super::{DeviceId, DeviceKind, DevicePlace, LinkId, Physical, PortRef, RackId};
use crate::conflict::{Dangling, Incomplete, join};
use crate::label::Label;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One broken invariant of the physical layer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PhysicalConflict {
    /// Two devices occupy a common rack unit.
    RackUnitOverlap {
        /// The rack.
        rack: RackId,
        /// The two devices, in id order.
        devices: (DeviceId, DeviceId),
        /// The lowest unit both occupy.
        unit: u16,
    },
    /// A device reaches above the top of its rack (the rack shrank concurrently).
    OutsideRack {
        /// The device.
        device: DeviceId,
        /// The rack.
        rack: RackId,
        /// The highest unit the device occupies.
        top: u16,
        /// The rack's height.
        height: u16,
    },
    /// Two or more blades sit in one chassis slot.
    ChassisSlotTaken {
        /// The chassis.
        chassis: DeviceId,
        /// The slot.
        slot: u16,
        /// The blades, in id order.
        devices: Vec<DeviceId>,
    },
    /// Two or more links use one port.
    PortLinkedTwice {
        /// The port.
        port: PortRef,
        /// The links, in id order.
        links: Vec<LinkId>,
    },
    /// Concurrent edits gave one label key two values on one entity (a datacenter, rack or
    /// device); the view shows the greatest. Set the label again to resolve it.
    LabelDiverged {
        /// The entity's kind.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The values, sorted.
        labels: Vec<Label>,
    },
    /// A reference to a missing entity.
    Dangling(Dangling),
    /// An entity missing a part.
    Incomplete(Incomplete),
}

impl PhysicalConflict {
    fn dangling(
        kind: &'static str,
        id: &impl ToString,
        field: &'static str,
        target: String,
    ) -> Self {
        PhysicalConflict::Dangling(Dangling::new(kind, id, field, target))
    }

    fn incomplete(kind: &'static str, id: &impl ToString, missing: &'static str) -> Self {
        PhysicalConflict::Incomplete(Incomplete::new(kind, id, missing))
    }
}

impl fmt::Display for PhysicalConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhysicalConflict::RackUnitOverlap {
                rack,
                devices: (a, b),
                unit,
            } => write!(f, "rack {rack} unit {unit}: devices {a} and {b} overlap"),
            PhysicalConflict::OutsideRack {
                device,
                rack,
                top,
                height,
            } => write!(
                f,
                "device {device} reaches unit {top} of rack {rack} ({height} units)"
            ),
            PhysicalConflict::ChassisSlotTaken {
                chassis,
                slot,
                devices,
            } => write!(f, "chassis {chassis} slot {slot}: {}", join(devices)),
            PhysicalConflict::PortLinkedTwice { port, links } => {
                write!(f, "port {port} used by links {}", join(links))
            }
            PhysicalConflict::LabelDiverged { kind, id, labels } => {
                write!(f, "{kind} {id}: labels {} share a key", join(labels))
            }
            PhysicalConflict::Dangling(d) => d.fmt(f),
            PhysicalConflict::Incomplete(i) => i.fmt(f),
        }
    }
}

/// Labels of `set` that share a key with another, sorted.
fn diverged<'a>(set: impl Iterator<Item = &'a Label>) -> Vec<Label> {
    let all: Vec<&Label> = set.collect();
    all.iter()
        .filter(|l| all.iter().filter(|m| m.key() == l.key()).count() > 1)
        .map(|l| (*l).clone())
        .collect()
}

impl Physical {
    /// Every conflict of the physical layer, sorted; the same list on every replica holding
    /// the same state.
    pub fn conflicts(&self) -> Vec<PhysicalConflict> {
        let mut out = Vec::new();
        self.structure_conflicts(&mut out);
        self.placement_conflicts(&mut out);
        self.link_conflicts(&mut out);
        self.label_conflicts(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn structure_conflicts(&self, out: &mut Vec<PhysicalConflict>) {
        let p = self;
        for (id, d) in p.datacenters.iter() {
            if d.info.get().is_none() {
                out.push(PhysicalConflict::incomplete("datacenter", id, "info"));
            }
        }
        for (id, r) in p.rows.iter() {
            match (r.info.get(), r.place.get()) {
                (None, _) => out.push(PhysicalConflict::incomplete("row", id, "info")),
                (_, None) => out.push(PhysicalConflict::incomplete("row", id, "place")),
                (_, Some(pl)) if !p.datacenters.contains_key(&pl.datacenter) => {
                    out.push(PhysicalConflict::dangling(
                        "row",
                        id,
                        "datacenter",
                        format!("datacenter {}", pl.datacenter),
                    ))
                }
                _ => {}
            }
        }
        for (id, r) in p.racks.iter() {
            match (r.info.get(), r.place.get()) {
                (None, _) => out.push(PhysicalConflict::incomplete("rack", id, "info")),
                (_, None) => out.push(PhysicalConflict::incomplete("rack", id, "place")),
                (_, Some(pl)) if !p.rows.contains_key(&pl.row) => {
                    out.push(PhysicalConflict::dangling(
                        "rack",
                        id,
                        "row",
                        format!("row {}", pl.row),
                    ));
                }
                _ => {}
            }
        }
        for (id, d) in p.devices.iter() {
            let missing = [
                (d.info.get().is_none(), "info"),
                (d.place.get().is_none(), "place"),
                (d.hardware.get().is_none(), "hardware"),
            ];
            if let Some((_, what)) = missing.iter().find(|(m, _)| *m) {
                out.push(PhysicalConflict::incomplete("device", id, what));
            }
        }
    }

    fn placement_conflicts(&self, out: &mut Vec<PhysicalConflict>) {
        let p = self;
        for (parent, children) in p.index().parents() {
            match parent {
                Parent::Rack(rack) => {
                    let Some(info) = p.racks.get(rack).and_then(|r| r.info.get()) else {
                        for c in children {
                            out.push(PhysicalConflict::dangling(
                                "device",
                                c,
                                "place.rack",
                                format!("rack {rack}"),
                            ));
                        }
                        continue;
                    };
                    let mut spans: Vec<(u16, u16, &DeviceId)> = children
                        .iter()
                        .filter_map(|c| p.device_units(c).map(|(lo, hi)| (lo, hi, c)))
                        .collect();
                    spans.sort();
                    for (i, (lo, hi, a)) in spans.iter().enumerate() {
                        if *hi > info.height_units {
                            out.push(PhysicalConflict::OutsideRack {
                                device: (*a).clone(),
                                rack: rack.clone(),
                                top: *hi,
                                height: info.height_units,
                            });
                        }
                        // Sorted by lowest unit: later spans overlap while they start by `hi`.
                        for (lo2, _, b) in spans[i + 1..].iter().take_while(|s| s.0 <= *hi) {
                            let pair = if a < b { (*a, *b) } else { (*b, *a) };
                            out.push(PhysicalConflict::RackUnitOverlap {
                                rack: rack.clone(),
                                devices: (pair.0.clone(), pair.1.clone()),
                                unit: (*lo).max(*lo2),
                            });
                        }
                    }
                }
                Parent::Chassis(chassis) => {
                    let is_chassis = p
                        .devices
                        .get(chassis)
                        .and_then(|d| d.info.get())
                        .is_some_and(|i| i.kind == DeviceKind::Chassis);
                    if !is_chassis {
                        for c in children {
                            out.push(PhysicalConflict::dangling(
                                "device",
                                c,
                                "place.chassis",
                                format!("chassis {chassis}"),
                            ));
                        }
                        continue;
                    }
                    let mut by_slot: BTreeMap<u16, Vec<DeviceId>> = BTreeMap::new();
                    for c in children {
                        if let Some(DevicePlace::Chassis { slot, .. }) =
                            p.devices.get(c).and_then(|d| d.place.get())
                        {
                            by_slot.entry(*slot).or_default().push(c.clone());
                        }
                    }
                    for (slot, devices) in by_slot.into_iter().filter(|(_, d)| d.len() > 1) {
                        out.push(PhysicalConflict::ChassisSlotTaken {
                            chassis: chassis.clone(),
                            slot,
                            devices,
                        });
                    }
                }
            }
        }
    }

    fn link_conflicts(&self, out: &mut Vec<PhysicalConflict>) {
        let p = self;
        for (id, l) in p.links.iter() {
            let Some(spec) = l.spec.get() else {
                out.push(PhysicalConflict::incomplete("link", id, "spec"));
                continue;
            };
            for (field, end) in [("a", &spec.a), ("b", &spec.b)] {
                let has_port = p
                    .devices
                    .get(&end.device)
                    .and_then(|d| d.hardware.get())
                    .is_some_and(|h| h.port(&end.port).is_some());
                if !has_port {
                    out.push(PhysicalConflict::dangling(
                        "link",
                        id,
                        field,
                        format!("port {end}"),
                    ));
                }
            }
        }
        for (port, links) in p.index().ports().filter(|(_, l)| l.len() > 1) {
            out.push(PhysicalConflict::PortLinkedTwice {
                port: port.clone(),
                links: links.iter().cloned().collect(),
            });
        }
    }

    fn label_conflicts(&self, out: &mut Vec<PhysicalConflict>) {
        let mut push = |kind, id: String, labels: Vec<Label>| {
            if !labels.is_empty() {
                out.push(PhysicalConflict::LabelDiverged { kind, id, labels });
            }
        };
        for (id, d) in self.datacenters.iter() {
            push("datacenter", id.to_string(), diverged(d.labels.iter()));
        }
        for (id, r) in self.racks.iter() {
            push("rack", id.to_string(), diverged(r.labels.iter()));
        }
        for (id, d) in self.devices.iter() {
            push("device", id.to_string(), diverged(d.labels.iter()));
        }
    }
}
