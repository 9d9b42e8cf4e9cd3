//! Devices: servers, chassis and their blades, storage hosts, switches, routers and firewalls,
//! mounted at a rack unit (or, for blades, in a chassis slot).

use super::index::Parent;
use super::order::{self, At, OrderKey};
use super::{DatacenterId, DeviceId, Hardware, Physical, RackId, single};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::label::{Label, add_labels, set_label};
use crate::model::{Model, ResourceKind};
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrSet, Timestamp, Tx, dot_store_struct};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Most blade slots in a chassis.
pub const MAX_CHASSIS_SLOTS: u16 = 64;

/// What a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    /// A rack-mounted server (a compute node).
    Server,
    /// A blade chassis: holds blades in slots, contributes no compute of its own.
    Chassis,
    /// A blade: a compute node mounted in a chassis slot.
    Blade,
    /// A storage host (disks served to others).
    StorageHost,
    /// A network switch.
    Switch,
    /// A router.
    Router,
    /// A firewall.
    Firewall,
}

impl DeviceKind {
    /// Every kind, in order.
    pub const ALL: [DeviceKind; 7] = [
        DeviceKind::Server,
        DeviceKind::Chassis,
        DeviceKind::Blade,
        DeviceKind::StorageHost,
        DeviceKind::Switch,
        DeviceKind::Router,
        DeviceKind::Firewall,
    ];

    /// Lower-case name, as in the API (`server`, `storage_host`, …).
    pub fn name(self) -> &'static str {
        match self {
            DeviceKind::Server => "server",
            DeviceKind::Chassis => "chassis",
            DeviceKind::Blade => "blade",
            DeviceKind::StorageHost => "storage_host",
            DeviceKind::Switch => "switch",
            DeviceKind::Router => "router",
            DeviceKind::Firewall => "firewall",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Devices are hardware: static resources.
    pub fn resource_kind(self) -> ResourceKind {
        ResourceKind::Static
    }

    /// True for devices whose components count as compute and storage capacity (servers,
    /// blades, storage hosts); network gear and chassis only carry traffic or blades.
    pub fn contributes_capacity(self) -> bool {
        matches!(
            self,
            DeviceKind::Server | DeviceKind::Blade | DeviceKind::StorageHost
        )
    }
}

/// What an operator says about a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Display name.
    pub name: String,
    /// What it is; fixed at creation.
    pub kind: DeviceKind,
    /// Vendor model, free text (may be empty).
    pub model: String,
    /// Height in rack units (blades: ignored, use 1).
    pub height_units: u16,
}

/// Where a device is mounted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DevicePlace {
    /// In a rack, from `unit` upwards for the device's height.
    Rack {
        /// The rack.
        rack: RackId,
        /// Lowest unit occupied (1 is the bottom).
        unit: u16,
        /// Position among the rack's devices.
        order: OrderKey,
    },
    /// In a chassis slot (blades).
    Chassis {
        /// The chassis device.
        chassis: DeviceId,
        /// Slot number, from 1.
        slot: u16,
    },
}

impl DevicePlace {
    /// The container.
    pub fn parent(&self) -> Parent {
        match self {
            DevicePlace::Rack { rack, .. } => Parent::Rack(rack.clone()),
            DevicePlace::Chassis { chassis, .. } => Parent::Chassis(chassis.clone()),
        }
    }
}

/// Where to mount a device (the request; the model mints the order key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaceSpec {
    /// In `rack` from `unit` upwards, listed `at` among the rack's devices.
    Rack {
        /// The rack.
        rack: RackId,
        /// Lowest unit occupied.
        unit: u16,
        /// Position in the rack's device list.
        at: At<DeviceId>,
    },
    /// In slot `slot` of chassis `chassis`.
    Chassis {
        /// The chassis.
        chassis: DeviceId,
        /// Slot number, from 1.
        slot: u16,
    },
}

/// A device.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Name, kind, model and height.
    pub info: LwwReg<DeviceInfo>,
    /// Where it is mounted.
    pub place: LwwReg<DevicePlace>,
    /// Its components.
    pub hardware: LwwReg<Hardware>,
    /// Labels (add-wins).
    pub labels: OrSet<Label>,
}
dot_store_struct!(Device {
    info,
    place,
    hardware,
    labels
});

/// Everything needed to create a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewDevice {
    /// Name, kind, model and height.
    pub info: DeviceInfo,
    /// Where to mount it.
    pub place: PlaceSpec,
    /// Its components.
    pub hardware: Hardware,
    /// Initial labels.
    pub labels: Vec<Label>,
}

impl DeviceInfo {
    fn validate(&self) -> Result<()> {
        check_name("device.name", &self.name)?;
        if !self.model.is_empty() {
            check_name("device.model", &self.model)?;
        }
        if self.height_units == 0 || self.height_units > super::rack::MAX_RACK_UNITS {
            return Err(Error::InvalidField {
                field: "device.height_units".into(),
                reason: format!("must be between 1 and {}", super::rack::MAX_RACK_UNITS),
            });
        }
        Ok(())
    }
}

fn devices(d: horao_crdt::OrMap<DeviceId, Device>) -> Model {
    Model::from_physical(Physical {
        devices: d,
        ..Physical::default()
    })
}

fn place_error(reason: impl Into<String>) -> Error {
    Error::InvalidField {
        field: "device.place".into(),
        reason: reason.into(),
    }
}

impl Physical {
    /// The devices mounted in `rack`, ordered by position (then id).
    pub fn devices_in_rack(&self, rack: &RackId) -> Vec<&DeviceId> {
        self.device_siblings(rack, None)
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    /// The blades in `chassis`, by slot.
    pub fn blades_in(&self, chassis: &DeviceId) -> Vec<(u16, &DeviceId)> {
        let mut v: Vec<(u16, &DeviceId)> = self
            .index()
            .children(&Parent::Chassis(chassis.clone()))
            .filter_map(|id| match self.devices.get(id)?.place.get()? {
                DevicePlace::Chassis { slot, .. } => Some((*slot, id)),
                DevicePlace::Rack { .. } => None,
            })
            .collect();
        v.sort();
        v
    }

    fn device_siblings(
        &self,
        rack: &RackId,
        except: Option<&DeviceId>,
    ) -> Vec<(&OrderKey, &DeviceId)> {
        let mut v: Vec<(&OrderKey, &DeviceId)> = self
            .index()
            .children(&Parent::Rack(rack.clone()))
            .filter(|id| Some(*id) != except)
            .filter_map(|id| match self.devices.get(id)?.place.get()? {
                DevicePlace::Rack { order, .. } => Some((order, id)),
                DevicePlace::Chassis { .. } => None,
            })
            .collect();
        v.sort();
        v
    }

    /// The lowest and highest rack unit `dev` occupies, when it is mounted in a rack.
    pub fn device_units(&self, dev: &DeviceId) -> Option<(u16, u16)> {
        let d = self.devices.get(dev)?;
        let height = d.info.get()?.height_units.max(1);
        match d.place.get()? {
            DevicePlace::Rack { unit, .. } => Some((*unit, unit.saturating_add(height - 1))),
            DevicePlace::Chassis { .. } => None,
        }
    }

    /// The datacenter holding `dev`, through its rack (or its chassis' rack).
    pub fn device_datacenter(&self, dev: &DeviceId) -> Option<&DatacenterId> {
        match self.devices.get(dev)?.place.get()? {
            DevicePlace::Rack { rack, .. } => self.rack_datacenter(rack),
            DevicePlace::Chassis { chassis, .. } => match self.devices.get(chassis)?.place.get()? {
                DevicePlace::Rack { rack, .. } => self.rack_datacenter(rack),
                DevicePlace::Chassis { .. } => None,
            },
        }
    }

    /// Checks that `id` (of `kind`, `height` units tall) can be mounted per `spec`, ignoring
    /// `id` itself when it is already mounted; returns the place to store.
    fn check_place(
        &self,
        id: &DeviceId,
        kind: DeviceKind,
        height: u16,
        spec: &PlaceSpec,
        rng: &mut impl Rng,
    ) -> Result<DevicePlace> {
        match spec {
            PlaceSpec::Rack { rack, unit, at } => {
                if kind == DeviceKind::Blade {
                    return Err(place_error("a blade is mounted in a chassis, not a rack"));
                }
                let r = self
                    .racks
                    .get(rack)
                    .and_then(|r| r.info.get())
                    .ok_or_else(|| Error::not_found(RackId::KIND, rack))?;
                let top = u32::from(*unit) + u32::from(height) - 1;
                if *unit == 0 || top > u32::from(r.height_units) {
                    return Err(Error::InvalidField {
                        field: "device.place.unit".into(),
                        reason: format!(
                            "units {unit}..={top} do not fit rack {rack} of {} units",
                            r.height_units
                        ),
                    });
                }
                let top = u16::try_from(top).unwrap_or(u16::MAX);
                for other in self.index().children(&Parent::Rack(rack.clone())) {
                    if other == id {
                        continue;
                    }
                    if let Some((lo, hi)) = self.device_units(other)
                        && lo <= top
                        && *unit <= hi
                    {
                        return Err(Error::in_use(
                            "rack unit",
                            format!("{rack}/{}", (*unit).max(lo)),
                            format!("device {other}"),
                        ));
                    }
                }
                let order = order::mint(&self.device_siblings(rack, Some(id)), at, rng)
                    .ok_or_else(|| place_error("`at` names a device that is not in this rack"))?;
                Ok(DevicePlace::Rack {
                    rack: rack.clone(),
                    unit: *unit,
                    order,
                })
            }
            PlaceSpec::Chassis { chassis, slot } => {
                if kind != DeviceKind::Blade {
                    return Err(place_error("only blades are mounted in a chassis"));
                }
                let c = self
                    .devices
                    .get(chassis)
                    .and_then(|d| d.info.get())
                    .ok_or_else(|| Error::not_found(DeviceId::KIND, chassis))?;
                if c.kind != DeviceKind::Chassis {
                    return Err(place_error(format!("device {chassis} is not a chassis")));
                }
                if *slot == 0 || *slot > MAX_CHASSIS_SLOTS {
                    return Err(Error::InvalidField {
                        field: "device.place.slot".into(),
                        reason: format!("must be between 1 and {MAX_CHASSIS_SLOTS}"),
                    });
                }
                if let Some((_, other)) = self
                    .blades_in(chassis)
                    .into_iter()
                    .find(|(s, other)| s == slot && *other != id)
                {
                    return Err(Error::in_use(
                        "chassis slot",
                        format!("{chassis}/{slot}"),
                        format!("device {other}"),
                    ));
                }
                Ok(DevicePlace::Chassis {
                    chassis: chassis.clone(),
                    slot: *slot,
                })
            }
        }
    }

    fn device(&self, id: &DeviceId) -> Result<(&Device, &DeviceInfo)> {
        let d = self
            .devices
            .get(id)
            .ok_or_else(|| Error::not_found(DeviceId::KIND, id))?;
        let info = d
            .info
            .get()
            .ok_or_else(|| Error::not_found(DeviceId::KIND, id))?;
        Ok((d, info))
    }
}

impl Model {
    /// Delta creating device `id`.
    pub fn create_device(
        &self,
        by: &Actor,
        id: &DeviceId,
        new: NewDevice,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DeviceId::KIND, id.as_str(), DeviceId::KIND)?;
        new.info.validate()?;
        new.hardware.validate()?;
        if self.physical.devices.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: DeviceId::KIND,
                id: id.to_string(),
            });
        }
        let place =
            self.physical
                .check_place(id, new.info.kind, new.info.height_units, &new.place, rng)?;
        let m = self.physical.devices.try_update(id.clone(), tx, |d, tx| {
            Ok::<_, Error>(Device {
                info: d.info.write(new.info, ts, tx),
                place: d.place.write(place, ts, tx),
                hardware: d.hardware.write(new.hardware, ts, tx),
                labels: add_labels(
                    &d.labels,
                    &crate::label::normalize("device.labels", new.labels)?,
                    tx,
                )?,
            })
        })?;
        Ok(devices(m))
    }

    /// Delta replacing device `id`'s name, model and height (the kind cannot change).
    pub fn update_device(
        &self,
        by: &Actor,
        id: &DeviceId,
        info: DeviceInfo,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DeviceId::KIND, id.as_str(), DeviceId::KIND)?;
        info.validate()?;
        let (d, old) = self.physical.device(id)?;
        if old.kind != info.kind {
            return Err(Error::Immutable {
                entity: DeviceId::KIND,
                id: id.to_string(),
                field: "device.kind",
                reason: "delete the device and create it anew".into(),
            });
        }
        if info.height_units != old.height_units
            && let Some(DevicePlace::Rack { rack, unit, .. }) = d.place.get()
        {
            // Re-check the place at the new height (the order key minted here is discarded).
            let spec = PlaceSpec::Rack {
                rack: rack.clone(),
                unit: *unit,
                at: At::End,
            };
            self.physical
                .check_place(id, info.kind, info.height_units, &spec, rng)?;
        }
        let delta = Device {
            info: d.info.write(info, ts, tx),
            ..Device::default()
        };
        Ok(devices(single(id.clone(), delta, tx)))
    }

    /// Delta replacing device `id`'s components; refused when a linked port would disappear.
    pub fn set_hardware(
        &self,
        by: &Actor,
        id: &DeviceId,
        hardware: Hardware,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DeviceId::KIND, id.as_str(), DeviceId::KIND)?;
        hardware.validate()?;
        let (d, _) = self.physical.device(id)?;
        if let Some(old) = d.hardware.get() {
            for p in old.ports().filter(|p| hardware.port(&p.name).is_none()) {
                let port = super::PortRef {
                    device: id.clone(),
                    port: p.name.clone(),
                };
                if let Some(link) = self.physical.index().links_at(&port).next() {
                    return Err(Error::in_use("port", &port, format!("link {link}")));
                }
            }
        }
        let delta = Device {
            hardware: d.hardware.write(hardware, ts, tx),
            ..Device::default()
        };
        Ok(devices(single(id.clone(), delta, tx)))
    }

    /// Delta moving device `id` to `spec` (another unit, rack or slot, or another position in
    /// the rack's list).
    pub fn move_device(
        &self,
        by: &Actor,
        id: &DeviceId,
        spec: &PlaceSpec,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DeviceId::KIND, id.as_str(), DeviceId::KIND)?;
        let (d, info) = self.physical.device(id)?;
        let place = self
            .physical
            .check_place(id, info.kind, info.height_units, spec, rng)?;
        let delta = Device {
            place: d.place.write(place, ts, tx),
            ..Device::default()
        };
        Ok(devices(single(id.clone(), delta, tx)))
    }

    /// Delta adding (`present`) or removing a label of device `id`.
    pub fn label_device(
        &self,
        by: &Actor,
        id: &DeviceId,
        label: &Label,
        present: bool,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DeviceId::KIND, id.as_str(), DeviceId::KIND)?;
        let (d, _) = self.physical.device(id)?;
        let labels = set_label(&d.labels, label, present, tx)?;
        let delta = Device {
            labels,
            ..Device::default()
        };
        Ok(devices(single(id.clone(), delta, tx)))
    }

    /// Delta deleting device `id`; refused while blades sit in it or links use its ports.
    pub fn delete_device(&self, by: &Actor, id: &DeviceId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(DeviceId::KIND, id.as_str(), DeviceId::KIND)?;
        if !self.physical.devices.contains_key(id) {
            return Err(Error::not_found(DeviceId::KIND, id));
        }
        if let Some(blade) = self
            .physical
            .index()
            .children(&Parent::Chassis(id.clone()))
            .next()
        {
            return Err(Error::in_use(DeviceId::KIND, id, format!("device {blade}")));
        }
        if let Some(link) = self.physical.links_of(id).first() {
            return Err(Error::in_use(DeviceId::KIND, id, format!("link {link}")));
        }
        Ok(devices(self.physical.devices.remove(id, tx)))
    }
}
