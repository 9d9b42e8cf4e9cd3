//! Views and requests of the physical layer: datacenters, rows, racks, devices with their
//! components and ports, and links.

use super::{Filter, LabelMap, ListQuery, Page, id, labels_from, labels_to, page};
use crate::error::{Error, Result};
use crate::ids::{DatacenterId, DeviceId, LinkId, RackId, RowId};
use crate::model::Model;
use crate::physical::{
    Accelerator, At, Cpu, DatacenterInfo, DeviceInfo, DeviceKind, DevicePlace, Disk, DiskClass,
    Hardware, LinkSpec, NetworkKind, NewDevice, Nic, PlaceSpec, Port, PortRef, RackInfo, RowInfo,
};
use serde::{Deserialize, Serialize};

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// Bytes from a count of `unit`, saturating.
pub(crate) fn bytes(n: u64, unit: u64) -> u64 {
    n.saturating_mul(unit)
}

/// A count of `unit` holding `bytes`, rounded up.
pub(crate) fn units(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit)
}

/// A datacenter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DatacenterView {
    /// Its id.
    pub id: DatacenterId,
    /// Display name.
    pub name: String,
    /// Site or address (may be empty).
    pub site: String,
    /// Labels.
    pub labels: LabelMap,
    /// Its rows, in order.
    pub rows: Vec<RowId>,
}

/// Creates a datacenter: only `name` is required.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateDatacenter {
    /// Display name.
    pub name: String,
    /// Site or address.
    #[serde(default)]
    pub site: String,
    /// Labels.
    #[serde(default)]
    pub labels: LabelMap,
}

/// Changes a datacenter's name or site (absent fields stay).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateDatacenter {
    /// New name.
    pub name: Option<String>,
    /// New site.
    pub site: Option<String>,
}

/// A row of racks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RowView {
    /// Its id.
    pub id: RowId,
    /// Display name.
    pub name: String,
    /// Its datacenter.
    pub datacenter: DatacenterId,
    /// Its racks, in order.
    pub racks: Vec<RackId>,
}

/// Where to put a row, rack or device among its siblings: at the end unless `after` or
/// `before` names a sibling.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// Right after this sibling.
    pub after: Option<String>,
    /// Right before this sibling.
    pub before: Option<String>,
}

impl Position {
    /// The model's position request.
    pub fn at<I: std::str::FromStr<Err = Error>>(&self) -> Result<At<I>> {
        match (&self.after, &self.before) {
            (None, None) => Ok(At::End),
            (Some(a), None) => Ok(At::After(id(a)?)),
            (None, Some(b)) => Ok(At::Before(id(b)?)),
            (Some(_), Some(_)) => Err(Error::invalid("before", "give after or before, not both")),
        }
    }
}

/// Creates a row in a datacenter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRow {
    /// The datacenter.
    pub datacenter: String,
    /// Display name.
    pub name: String,
    /// Where among the datacenter's rows.
    #[serde(default, flatten)]
    pub position: Position,
}

/// A rack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RackView {
    /// Its id.
    pub id: RackId,
    /// Display name.
    pub name: String,
    /// Height in rack units.
    pub height_units: u16,
    /// Its row.
    pub row: RowId,
    /// Its datacenter (through the row).
    pub datacenter: Option<DatacenterId>,
    /// Labels.
    pub labels: LabelMap,
    /// The devices mounted in it, in order.
    pub devices: Vec<DeviceId>,
}

/// Creates a rack in a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateRack {
    /// The row.
    pub row: String,
    /// Display name.
    pub name: String,
    /// Height in rack units.
    pub height_units: u16,
    /// Labels.
    #[serde(default)]
    pub labels: LabelMap,
    /// Where among the row's racks.
    #[serde(default, flatten)]
    pub position: Position,
}

/// Changes a rack's name or height (absent fields stay).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateRack {
    /// New name.
    pub name: Option<String>,
    /// New height.
    pub height_units: Option<u16>,
}

/// A processor socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CpuView {
    /// Physical cores.
    pub cores: u32,
    /// Base clock in MHz.
    pub clock_mhz: u32,
}

/// A disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct DiskView {
    /// Size in bytes (kept in whole GiB: a request's size is rounded up).
    pub size_bytes: u64,
    /// Storage class.
    pub class: DiskClass,
}

/// An accelerator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AcceleratorView {
    /// Model name.
    pub model: String,
    /// On-board memory in bytes (kept in whole MiB).
    pub memory_bytes: u64,
}

/// A network port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PortView {
    /// Name, unique within the device.
    pub name: String,
    /// Line rate in Mbit/s.
    pub speed_mbps: u64,
}

/// A network interface card and its ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct NicView {
    /// Card name.
    pub name: String,
    /// Its ports.
    #[serde(default)]
    pub ports: Vec<PortView>,
}

/// A device's components.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HardwareView {
    /// Processor sockets.
    #[serde(default)]
    pub cpus: Vec<CpuView>,
    /// Memory in bytes (kept in whole MiB).
    #[serde(default)]
    pub ram_bytes: u64,
    /// Disks.
    #[serde(default)]
    pub disks: Vec<DiskView>,
    /// Accelerators.
    #[serde(default)]
    pub accelerators: Vec<AcceleratorView>,
    /// NICs and their ports.
    #[serde(default)]
    pub nics: Vec<NicView>,
}

impl HardwareView {
    /// The view of `h`.
    pub fn of(h: &Hardware) -> Self {
        HardwareView {
            cpus: h
                .cpus
                .iter()
                .map(|c| CpuView {
                    cores: c.cores,
                    clock_mhz: c.clock_mhz,
                })
                .collect(),
            ram_bytes: bytes(h.ram_mib, MIB),
            disks: h
                .disks
                .iter()
                .map(|d| DiskView {
                    size_bytes: bytes(d.size_gib, GIB),
                    class: d.class,
                })
                .collect(),
            accelerators: h
                .accelerators
                .iter()
                .map(|a| AcceleratorView {
                    model: a.model.clone(),
                    memory_bytes: bytes(a.memory_mib, MIB),
                })
                .collect(),
            nics: h
                .nics
                .iter()
                .map(|n| NicView {
                    name: n.name.clone(),
                    ports: n
                        .ports
                        .iter()
                        .map(|p| PortView {
                            name: p.name.clone(),
                            speed_mbps: p.speed_mbps,
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// The model's components (sizes rounded up to the model's units).
    pub fn to_model(&self) -> Hardware {
        Hardware {
            cpus: self
                .cpus
                .iter()
                .map(|c| Cpu {
                    cores: c.cores,
                    clock_mhz: c.clock_mhz,
                })
                .collect(),
            ram_mib: units(self.ram_bytes, MIB),
            disks: self
                .disks
                .iter()
                .map(|d| Disk {
                    size_gib: units(d.size_bytes, GIB),
                    class: d.class,
                })
                .collect(),
            accelerators: self
                .accelerators
                .iter()
                .map(|a| Accelerator {
                    model: a.model.clone(),
                    memory_mib: units(a.memory_bytes, MIB),
                })
                .collect(),
            nics: self
                .nics
                .iter()
                .map(|n| Nic {
                    name: n.name.clone(),
                    ports: n
                        .ports
                        .iter()
                        .map(|p| Port {
                            name: p.name.clone(),
                            speed_mbps: p.speed_mbps,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Where a device is mounted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum MountView {
    /// In a rack, from `unit` upwards.
    Rack {
        /// The rack.
        rack: RackId,
        /// Lowest unit occupied (1 is the bottom).
        unit: u16,
    },
    /// In a chassis slot.
    Chassis {
        /// The chassis.
        chassis: DeviceId,
        /// Slot number, from 1.
        slot: u16,
    },
}

/// A device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeviceView {
    /// Its id.
    pub id: DeviceId,
    /// Display name.
    pub name: String,
    /// What it is.
    pub kind: DeviceKind,
    /// Vendor model.
    pub model: String,
    /// Height in rack units.
    pub height_units: u16,
    /// Where it is mounted.
    pub mount: Option<MountView>,
    /// Its datacenter.
    pub datacenter: Option<DatacenterId>,
    /// Its components.
    pub hardware: Option<HardwareView>,
    /// Labels.
    pub labels: LabelMap,
    /// The links on its ports, by id.
    pub links: Vec<LinkId>,
}

/// Creates a device in a rack (`rack` and `unit`) or a chassis slot (`chassis` and `slot`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateDevice {
    /// Display name.
    pub name: String,
    /// What it is.
    pub kind: DeviceKind,
    /// Vendor model.
    #[serde(default)]
    pub model: String,
    /// Height in rack units (default 1).
    #[serde(default = "one")]
    pub height_units: u16,
    /// Where to mount it.
    pub mount: MountView,
    /// Where among the rack's devices (racks only).
    #[serde(default, flatten)]
    pub position: Position,
    /// Its components.
    #[serde(default)]
    pub hardware: HardwareView,
    /// Labels.
    #[serde(default)]
    pub labels: LabelMap,
}

fn one() -> u16 {
    1
}

/// Changes a device: name, model, height, components or mount (absent fields stay).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    /// New name.
    pub name: Option<String>,
    /// New model.
    pub model: Option<String>,
    /// New height.
    pub height_units: Option<u16>,
    /// New components.
    pub hardware: Option<HardwareView>,
    /// New mount.
    pub mount: Option<MountView>,
}

fn place_spec(mount: &MountView, position: &Position) -> Result<PlaceSpec> {
    Ok(match mount {
        MountView::Rack { rack, unit } => PlaceSpec::Rack {
            rack: rack.clone(),
            unit: *unit,
            at: position.at()?,
        },
        MountView::Chassis { chassis, slot } => PlaceSpec::Chassis {
            chassis: chassis.clone(),
            slot: *slot,
        },
    })
}

/// One end of a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PortRefView {
    /// The device.
    pub device: DeviceId,
    /// The port's name on it.
    pub port: String,
}

/// A network link between two ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LinkView {
    /// Its id.
    pub id: LinkId,
    /// One end.
    pub a: PortRefView,
    /// The other end.
    pub b: PortRefView,
    /// Speed in Mbit/s.
    pub speed_mbps: u64,
    /// The network it carries.
    pub kind: NetworkKind,
}

/// Creates a link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateLink {
    /// One end.
    pub a: PortRefView,
    /// The other end.
    pub b: PortRefView,
    /// Speed in Mbit/s.
    pub speed_mbps: u64,
    /// The network it carries.
    pub kind: NetworkKind,
}

impl CreateDatacenter {
    /// The model's arguments: info and labels.
    pub fn to_model(&self) -> Result<(DatacenterInfo, Vec<crate::Label>)> {
        Ok((
            DatacenterInfo {
                name: self.name.clone(),
                site: self.site.clone(),
            },
            labels_from("datacenter.labels", &self.labels)?,
        ))
    }
}

impl UpdateDatacenter {
    /// The new info of a datacenter whose info is `old`.
    pub fn apply(&self, old: &DatacenterInfo) -> DatacenterInfo {
        DatacenterInfo {
            name: self.name.clone().unwrap_or_else(|| old.name.clone()),
            site: self.site.clone().unwrap_or_else(|| old.site.clone()),
        }
    }
}

impl CreateRow {
    /// The model's arguments: datacenter, info and position.
    pub fn to_model(&self) -> Result<(DatacenterId, RowInfo, At<RowId>)> {
        Ok((
            id(&self.datacenter)?,
            RowInfo {
                name: self.name.clone(),
            },
            self.position.at()?,
        ))
    }
}

impl CreateRack {
    /// The model's arguments: row, info, labels and position.
    pub fn to_model(&self) -> Result<(RowId, RackInfo, Vec<crate::Label>, At<RackId>)> {
        Ok((
            id(&self.row)?,
            RackInfo {
                name: self.name.clone(),
                height_units: self.height_units,
            },
            labels_from("rack.labels", &self.labels)?,
            self.position.at()?,
        ))
    }
}

impl UpdateRack {
    /// The new info of a rack whose info is `old`.
    pub fn apply(&self, old: &RackInfo) -> RackInfo {
        RackInfo {
            name: self.name.clone().unwrap_or_else(|| old.name.clone()),
            height_units: self.height_units.unwrap_or(old.height_units),
        }
    }
}

impl CreateDevice {
    /// The model's request.
    pub fn to_model(&self) -> Result<NewDevice> {
        Ok(NewDevice {
            info: DeviceInfo {
                name: self.name.clone(),
                kind: self.kind,
                model: self.model.clone(),
                height_units: self.height_units,
            },
            place: place_spec(&self.mount, &self.position)?,
            hardware: self.hardware.to_model(),
            labels: labels_from("device.labels", &self.labels)?,
        })
    }
}

impl UpdateDevice {
    /// The new info of a device whose info is `old` (its kind never changes).
    pub fn info(&self, old: &DeviceInfo) -> DeviceInfo {
        DeviceInfo {
            name: self.name.clone().unwrap_or_else(|| old.name.clone()),
            kind: old.kind,
            model: self.model.clone().unwrap_or_else(|| old.model.clone()),
            height_units: self.height_units.unwrap_or(old.height_units),
        }
    }

    /// The new mount, if the request moves the device.
    pub fn place(&self) -> Result<Option<PlaceSpec>> {
        self.mount
            .as_ref()
            .map(|m| place_spec(m, &Position::default()))
            .transpose()
    }
}

impl CreateLink {
    /// The model's spec.
    pub fn to_model(&self) -> LinkSpec {
        let port = |p: &PortRefView| PortRef {
            device: p.device.clone(),
            port: p.port.clone(),
        };
        LinkSpec {
            a: port(&self.a),
            b: port(&self.b),
            speed_mbps: self.speed_mbps,
            kind: self.kind,
        }
    }
}

impl DatacenterView {
    /// The view of datacenter `id`, if it exists.
    pub fn of(m: &Model, id: &DatacenterId) -> Option<Self> {
        let d = m.physical.datacenters.get(id)?;
        let info = d.info.get()?;
        Some(DatacenterView {
            id: id.clone(),
            name: info.name.clone(),
            site: info.site.clone(),
            labels: labels_to(d.labels.iter()),
            rows: m.physical.rows_in(id).into_iter().cloned().collect(),
        })
    }
}

impl RowView {
    /// The view of row `id`, if it exists.
    pub fn of(m: &Model, id: &RowId) -> Option<Self> {
        let r = m.physical.rows.get(id)?;
        Some(RowView {
            id: id.clone(),
            name: r.info.get()?.name.clone(),
            datacenter: r.place.get()?.datacenter.clone(),
            racks: m.physical.racks_in(id).into_iter().cloned().collect(),
        })
    }
}

impl RackView {
    /// The view of rack `id`, if it exists.
    pub fn of(m: &Model, id: &RackId) -> Option<Self> {
        let r = m.physical.racks.get(id)?;
        let info = r.info.get()?;
        Some(RackView {
            id: id.clone(),
            name: info.name.clone(),
            height_units: info.height_units,
            row: r.place.get()?.row.clone(),
            datacenter: m.physical.rack_datacenter(id).cloned(),
            labels: labels_to(r.labels.iter()),
            devices: m
                .physical
                .devices_in_rack(id)
                .into_iter()
                .cloned()
                .collect(),
        })
    }
}

impl DeviceView {
    /// The view of device `id`, if it exists.
    pub fn of(m: &Model, id: &DeviceId) -> Option<Self> {
        let d = m.physical.devices.get(id)?;
        let info = d.info.get()?;
        Some(DeviceView {
            id: id.clone(),
            name: info.name.clone(),
            kind: info.kind,
            model: info.model.clone(),
            height_units: info.height_units,
            mount: d.place.get().map(|p| match p {
                DevicePlace::Rack { rack, unit, .. } => MountView::Rack {
                    rack: rack.clone(),
                    unit: *unit,
                },
                DevicePlace::Chassis { chassis, slot } => MountView::Chassis {
                    chassis: chassis.clone(),
                    slot: *slot,
                },
            }),
            datacenter: m.physical.device_datacenter(id).cloned(),
            hardware: d.hardware.get().map(HardwareView::of),
            labels: labels_to(d.labels.iter()),
            links: m.physical.links_of(id).into_iter().cloned().collect(),
        })
    }
}

impl LinkView {
    /// The view of link `id`, if it exists.
    pub fn of(m: &Model, id: &LinkId) -> Option<Self> {
        let s = m.physical.links.get(id)?.spec.get()?;
        let port = |p: &PortRef| PortRefView {
            device: p.device.clone(),
            port: p.port.clone(),
        };
        Some(LinkView {
            id: id.clone(),
            a: port(&s.a),
            b: port(&s.b),
            speed_mbps: s.speed_mbps,
            kind: s.kind,
        })
    }
}

fn parse(q: &ListQuery) -> Result<Filter> {
    q.parse()
}

/// A page of datacenters (filters: name, label, datacenter).
pub fn list_datacenters(m: &Model, q: &ListQuery) -> Result<Page<DatacenterView>> {
    let f = parse(q)?;
    page(
        &m.physical.datacenters,
        &f,
        |id, d| {
            d.info.get().is_some_and(|i| f.name_ok(&i.name))
                && f.labels_ok(d.labels.iter())
                && f.datacenter_ok(Some(id.as_str()))
        },
        |id, _| DatacenterView::of(m, id),
    )
}

/// A page of rows (filters: name, datacenter).
pub fn list_rows(m: &Model, q: &ListQuery) -> Result<Page<RowView>> {
    let f = parse(q)?;
    page(
        &m.physical.rows,
        &f,
        |_, r| {
            r.info.get().is_some_and(|i| f.name_ok(&i.name))
                && f.label.is_none()
                && f.datacenter_ok(r.place.get().map(|p| p.datacenter.as_str()))
        },
        |id, _| RowView::of(m, id),
    )
}

/// A page of racks (filters: name, label, datacenter).
pub fn list_racks(m: &Model, q: &ListQuery) -> Result<Page<RackView>> {
    let f = parse(q)?;
    page(
        &m.physical.racks,
        &f,
        |id, r| {
            r.info.get().is_some_and(|i| f.name_ok(&i.name))
                && f.labels_ok(r.labels.iter())
                && f.datacenter_ok(m.physical.rack_datacenter(id).map(DatacenterId::as_str))
        },
        |id, _| RackView::of(m, id),
    )
}

/// A page of devices (filters: name, label, datacenter).
pub fn list_devices(m: &Model, q: &ListQuery) -> Result<Page<DeviceView>> {
    let f = parse(q)?;
    page(
        &m.physical.devices,
        &f,
        |id, d| {
            d.info.get().is_some_and(|i| f.name_ok(&i.name))
                && f.labels_ok(d.labels.iter())
                && f.datacenter_ok(m.physical.device_datacenter(id).map(DatacenterId::as_str))
        },
        |id, _| DeviceView::of(m, id),
    )
}

/// A page of links (filter: datacenter, of either end).
pub fn list_links(m: &Model, q: &ListQuery) -> Result<Page<LinkView>> {
    let f = parse(q)?;
    page(
        &m.physical.links,
        &f,
        |_, l| {
            l.spec.get().is_some_and(|s| {
                f.name.is_none()
                    && f.label.is_none()
                    && [&s.a, &s.b].iter().any(|p| {
                        f.datacenter_ok(
                            m.physical
                                .device_datacenter(&p.device)
                                .map(DatacenterId::as_str),
                        )
                    })
            })
        },
        |id, _| LinkView::of(m, id),
    )
}
