//! Conflicts: invariants a merge of concurrent edits can break, reported by a query instead
//! of silently dropping one side.
//!
//! Every replica holding the same state reports the same list: [`Model::conflicts`] walks the
//! tables in key order and returns a sorted, deduplicated list. A conflict disappears once an
//! operator resolves it with an ordinary mutation (moving a device, deleting a link, …).

use crate::claims::{ClaimId, Overcommit, Pool, report};
use crate::logical::{Dimension, InfraId, Membership, TenantId};
use crate::model::Model;
use crate::physical::index::Parent;
use crate::physical::{DeviceId, DeviceKind, DevicePlace, LinkId, PortRef, RackId};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// One broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Conflict {
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
    /// An entity refers to one that no longer exists (deleted concurrently) or is of the wrong
    /// kind.
    Dangling {
        /// The referring entity's kind.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The referring field.
        field: &'static str,
        /// The missing target.
        target: String,
    },
    /// An entity lacks a part every entity of its kind has: it was deleted on one replica
    /// while edited on another, and only the concurrent edit survived. Recreate or delete it.
    Incomplete {
        /// The entity's kind.
        kind: &'static str,
        /// Its id.
        id: String,
        /// The missing part.
        missing: &'static str,
    },
    /// Concurrent writers gave a datacenter different roles in an infrastructure.
    MembershipDiverged {
        /// The infrastructure.
        infrastructure: InfraId,
        /// The datacenter.
        datacenter: String,
        /// The roles written, sorted.
        roles: Vec<Membership>,
    },
    /// A reservation demands a disk class its tenant's constraints forbid: the constraint or
    /// the profile changed after the reservation was admitted, or concurrently with it.
    ForbiddenDisk {
        /// The reservation.
        reservation: ClaimId,
        /// Its tenant.
        tenant: TenantId,
        /// The first forbidden disk dimension it demands.
        dimension: Dimension,
    },
    /// A pool's claims exceed its capacity for a stretch of time.
    Overcommitted {
        /// The pool.
        pool: Pool,
        /// Where and by how much.
        over: Overcommit,
    },
    /// A conflict among machines, volumes, images and instances.
    Storage(crate::lifecycle::StorageConflict),
    /// A conflict among environments and resources (a dependency cycle, for instance).
    Environment(crate::environments::EnvironmentConflict),
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conflict::RackUnitOverlap {
                rack,
                devices: (a, b),
                unit,
            } => write!(f, "rack {rack} unit {unit}: devices {a} and {b} overlap"),
            Conflict::OutsideRack {
                device,
                rack,
                top,
                height,
            } => write!(
                f,
                "device {device} reaches unit {top} of rack {rack} ({height} units)"
            ),
            Conflict::ChassisSlotTaken {
                chassis,
                slot,
                devices,
            } => write!(f, "chassis {chassis} slot {slot}: {}", join(devices)),
            Conflict::PortLinkedTwice { port, links } => {
                write!(f, "port {port} used by links {}", join(links))
            }
            Conflict::Dangling {
                kind,
                id,
                field,
                target,
            } => write!(f, "{kind} {id}: {field} names missing {target}"),
            Conflict::Incomplete { kind, id, missing } => {
                write!(f, "{kind} {id}: incomplete, no {missing}")
            }
            Conflict::MembershipDiverged {
                infrastructure,
                datacenter,
                roles,
            } => write!(
                f,
                "infrastructure {infrastructure} datacenter {datacenter}: roles {roles:?}"
            ),
            Conflict::ForbiddenDisk {
                reservation,
                tenant,
                dimension,
            } => write!(
                f,
                "reservation {reservation}: demands {dimension}, which tenant {tenant}'s constraints forbid"
            ),
            Conflict::Overcommitted { pool, over } => write!(
                f,
                "{pool}: {} over during [{}, {}): needs {}, {} available",
                over.dimension, over.start, over.end, over.needed, over.available
            ),
            Conflict::Storage(c) => write!(f, "{c}"),
            Conflict::Environment(c) => write!(f, "{c}"),
        }
    }
}

fn join<T: fmt::Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

fn dangling(
    kind: &'static str,
    id: &impl ToString,
    field: &'static str,
    target: String,
) -> Conflict {
    Conflict::Dangling {
        kind,
        id: id.to_string(),
        field,
        target,
    }
}

fn incomplete(kind: &'static str, id: &impl ToString, missing: &'static str) -> Conflict {
    Conflict::Incomplete {
        kind,
        id: id.to_string(),
        missing,
    }
}

impl Model {
    /// Every conflict in the model, sorted and deduplicated: the same list on every replica
    /// that holds the same state.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        self.structure_conflicts(&mut out);
        self.placement_conflicts(&mut out);
        self.link_conflicts(&mut out);
        self.logical_conflicts(&mut out);
        self.claim_conflicts(&mut out);
        out.extend(self.storage.conflicts().into_iter().map(Conflict::Storage));
        out.extend(
            self.environments
                .conflicts()
                .into_iter()
                .map(Conflict::Environment),
        );
        out.sort();
        out.dedup();
        out
    }

    fn structure_conflicts(&self, out: &mut Vec<Conflict>) {
        let p = &self.physical;
        for (id, d) in p.datacenters.iter() {
            if d.info.get().is_none() {
                out.push(incomplete("datacenter", id, "info"));
            }
        }
        for (id, r) in p.rows.iter() {
            match (r.info.get(), r.place.get()) {
                (None, _) => out.push(incomplete("row", id, "info")),
                (_, None) => out.push(incomplete("row", id, "place")),
                (_, Some(pl)) if !p.datacenters.contains_key(&pl.datacenter) => out.push(dangling(
                    "row",
                    id,
                    "datacenter",
                    format!("datacenter {}", pl.datacenter),
                )),
                _ => {}
            }
        }
        for (id, r) in p.racks.iter() {
            match (r.info.get(), r.place.get()) {
                (None, _) => out.push(incomplete("rack", id, "info")),
                (_, None) => out.push(incomplete("rack", id, "place")),
                (_, Some(pl)) if !p.rows.contains_key(&pl.row) => {
                    out.push(dangling("rack", id, "row", format!("row {}", pl.row)));
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
                out.push(incomplete("device", id, what));
            }
        }
    }

    fn placement_conflicts(&self, out: &mut Vec<Conflict>) {
        let p = &self.physical;
        for (parent, children) in p.index.parents() {
            match parent {
                Parent::Rack(rack) => {
                    let Some(info) = p.racks.get(rack).and_then(|r| r.info.get()) else {
                        for c in children {
                            out.push(dangling("device", c, "place.rack", format!("rack {rack}")));
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
                            out.push(Conflict::OutsideRack {
                                device: (*a).clone(),
                                rack: rack.clone(),
                                top: *hi,
                                height: info.height_units,
                            });
                        }
                        // Sorted by lowest unit: later spans overlap while they start by `hi`.
                        for (lo2, _, b) in spans[i + 1..].iter().take_while(|s| s.0 <= *hi) {
                            let pair = if a < b { (*a, *b) } else { (*b, *a) };
                            out.push(Conflict::RackUnitOverlap {
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
                            out.push(dangling(
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
                        out.push(Conflict::ChassisSlotTaken {
                            chassis: chassis.clone(),
                            slot,
                            devices,
                        });
                    }
                }
            }
        }
    }

    fn link_conflicts(&self, out: &mut Vec<Conflict>) {
        let p = &self.physical;
        for (id, l) in p.links.iter() {
            let Some(spec) = l.spec.get() else {
                out.push(incomplete("link", id, "spec"));
                continue;
            };
            for (field, end) in [("a", &spec.a), ("b", &spec.b)] {
                let has_port = p
                    .devices
                    .get(&end.device)
                    .and_then(|d| d.hardware.get())
                    .is_some_and(|h| h.port(&end.port).is_some());
                if !has_port {
                    out.push(dangling("link", id, field, format!("port {end}")));
                }
            }
        }
        for (port, links) in p.index.ports().filter(|(_, l)| l.len() > 1) {
            out.push(Conflict::PortLinkedTwice {
                port: port.clone(),
                links: links.iter().cloned().collect(),
            });
        }
    }

    fn logical_conflicts(&self, out: &mut Vec<Conflict>) {
        let l = &self.logical;
        for (id, i) in l.infrastructures.iter() {
            if i.info.get().is_none() {
                out.push(incomplete("infrastructure", id, "info"));
            }
            for (dc, roles) in i.datacenters.iter() {
                if !self.physical.datacenters.contains_key(dc) {
                    out.push(dangling(
                        "infrastructure",
                        id,
                        "datacenters",
                        format!("datacenter {dc}"),
                    ));
                }
                let mut rs: Vec<Membership> = roles.values().copied().collect();
                rs.sort();
                rs.dedup();
                if rs.len() > 1 {
                    out.push(Conflict::MembershipDiverged {
                        infrastructure: id.clone(),
                        datacenter: dc.to_string(),
                        roles: rs,
                    });
                }
            }
        }
        for (id, t) in l.tenants.iter() {
            if t.info.get().is_none() {
                out.push(incomplete("tenant", id, "info"));
            }
            for c in t.constraints.iter() {
                if let crate::logical::Constraint::OnlyDatacenter(dc) = c
                    && !self.physical.datacenters.contains_key(dc)
                {
                    out.push(dangling(
                        "tenant",
                        id,
                        "constraints",
                        format!("datacenter {dc}"),
                    ));
                }
            }
        }
        for (id, pr) in l.profiles.iter() {
            if pr.spec.get().is_none() {
                out.push(incomplete("profile", id, "spec"));
            }
        }
    }

    fn claim_conflicts(&self, out: &mut Vec<Conflict>) {
        let c = &self.claims;
        let l = &self.logical;
        for (id, r) in c.reservations.iter() {
            let Some(s) = r.spec.get() else {
                out.push(incomplete("reservation", id, "spec"));
                continue;
            };
            if !l.infrastructures.contains_key(&s.infrastructure) {
                let t = format!("infrastructure {}", s.infrastructure);
                out.push(dangling("reservation", id, "infrastructure", t));
            }
            if !l.tenants.contains_key(&s.tenant) {
                out.push(dangling(
                    "reservation",
                    id,
                    "tenant",
                    format!("tenant {}", s.tenant),
                ));
            }
            if !l.profiles.contains_key(&s.profile) {
                let t = format!("profile {}", s.profile);
                out.push(dangling("reservation", id, "profile", t));
            }
            let demand = l
                .profiles
                .get(&s.profile)
                .and_then(|p| p.spec.get())
                .map(|p| p.demand.times(u64::from(s.count)));
            if let (Some(t), Some(d)) = (l.tenants.get(&s.tenant), demand)
                && let Some(dimension) = t.forbidden_disk(&d)
            {
                out.push(Conflict::ForbiddenDisk {
                    reservation: id.clone(),
                    tenant: s.tenant.clone(),
                    dimension,
                });
            }
        }
        for (id, m) in c.maintenance.iter() {
            let Some(s) = m.spec.get() else {
                out.push(incomplete("maintenance", id, "spec"));
                continue;
            };
            for d in s
                .devices
                .iter()
                .filter(|d| !self.physical.devices.contains_key(d))
            {
                out.push(dangling(
                    "maintenance",
                    id,
                    "devices",
                    format!("device {d}"),
                ));
            }
        }
        let ctx = crate::claims::FitContext::new(self);
        for pool in ctx.all_pools() {
            for over in report::overcommits(&ctx.pool_claims(&pool, None)) {
                out.push(Conflict::Overcommitted {
                    pool: pool.clone(),
                    over,
                });
            }
        }
    }
}
