//! Views and requests of the logical layer: capacities by named dimension, infrastructures,
//! tenants and resource profiles.

use super::physical::{bytes, units};
use super::{LabelMap, ListQuery, Page, id, labels_from, labels_to, page};
use crate::error::{Error, Result};
use crate::ids::{DatacenterId, InfraId, ProfileId, TenantId};
use crate::logical::{
    Capacity, Constraint, Dimension, InfraInfo, Membership, ProfileSpec, TenantInfo,
};
use crate::model::Model;
use crate::physical::DiskClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;

/// An amount per dimension, each a named field with its unit. RAM is kept in whole MiB and
/// disks in whole GiB: a request's bytes are rounded up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct CapacityView {
    /// Physical CPU cores.
    pub cpu_cores: u64,
    /// Memory in bytes.
    pub ram_bytes: u64,
    /// Accelerators (count).
    pub accelerators: u64,
    /// Spinning-disk capacity in bytes.
    pub disk_hdd_bytes: u64,
    /// SATA/SAS SSD capacity in bytes.
    pub disk_ssd_bytes: u64,
    /// NVMe capacity in bytes.
    pub disk_nvme_bytes: u64,
    /// Port line rate in Mbit/s.
    pub network_mbps: u64,
}

impl CapacityView {
    /// The view of `c`.
    pub fn of(c: &Capacity) -> Self {
        CapacityView {
            cpu_cores: c.get(Dimension::Cores),
            ram_bytes: bytes(c.get(Dimension::RamMib), MIB),
            accelerators: c.get(Dimension::Accelerators),
            disk_hdd_bytes: bytes(c.get(Dimension::Disk(DiskClass::Hdd)), GIB),
            disk_ssd_bytes: bytes(c.get(Dimension::Disk(DiskClass::Ssd)), GIB),
            disk_nvme_bytes: bytes(c.get(Dimension::Disk(DiskClass::Nvme)), GIB),
            network_mbps: c.get(Dimension::NetworkMbps),
        }
    }

    /// The model's capacity (bytes rounded up to the model's units).
    pub fn to_model(&self) -> Capacity {
        Capacity::from_pairs([
            (Dimension::Cores, self.cpu_cores),
            (Dimension::RamMib, units(self.ram_bytes, MIB)),
            (Dimension::Accelerators, self.accelerators),
            (
                Dimension::Disk(DiskClass::Hdd),
                units(self.disk_hdd_bytes, GIB),
            ),
            (
                Dimension::Disk(DiskClass::Ssd),
                units(self.disk_ssd_bytes, GIB),
            ),
            (
                Dimension::Disk(DiskClass::Nvme),
                units(self.disk_nvme_bytes, GIB),
            ),
            (Dimension::NetworkMbps, self.network_mbps),
        ])
    }
}

/// A logical infrastructure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InfrastructureView {
    /// Its id.
    pub id: InfraId,
    /// Display name.
    pub name: String,
    /// Member datacenters and their roles (more than one role is a conflict).
    pub datacenters: BTreeMap<DatacenterId, Vec<Membership>>,
    /// The capacity of its active datacenters.
    pub capacity: CapacityView,
}

/// Creates an infrastructure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateInfrastructure {
    /// Display name.
    pub name: String,
    /// Member datacenters and their roles.
    #[serde(default)]
    pub datacenters: BTreeMap<String, Membership>,
}

/// Changes an infrastructure: its name, and members to set (role) or remove (`null`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateInfrastructure {
    /// New name.
    pub name: Option<String>,
    /// Members to add or change (a role) or remove (`null`).
    #[serde(default)]
    pub datacenters: BTreeMap<String, Option<Membership>>,
}

/// Changes a tenant: name and owner (absent fields stay), delegates to add (`true`) or remove
/// (`false`), quotas to set or clear (`null`), and the constraints replaced whole (when
/// given).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    /// New display name.
    pub name: Option<String>,
    /// New owner.
    pub owner: Option<String>,
    /// Delegates to add (`true`) or remove (`false`).
    #[serde(default)]
    pub delegates: BTreeMap<String, bool>,
    /// Quotas by dimension name to set, or clear (`null`).
    #[serde(default)]
    pub quotas: BTreeMap<String, Option<u64>>,
    /// The new constraints, replacing the old ones.
    pub constraints: Option<ConstraintsView>,
}

/// Where a tenant's claims may draw capacity from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields, default)]
pub struct ConstraintsView {
    /// Only these datacenters (all when empty).
    pub datacenters: Vec<DatacenterId>,
    /// Only these disk classes (all when empty).
    pub disk_classes: Vec<DiskClass>,
    /// Only devices meeting these labels.
    pub labels: LabelMap,
}

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TenantView {
    /// Its id.
    pub id: TenantId,
    /// Display name.
    pub name: String,
    /// The principal that owns it.
    pub owner: String,
    /// Principals acting for the owner.
    pub delegates: Vec<String>,
    /// Quotas, where set (a dimension without a quota is unlimited).
    pub quotas: BTreeMap<String, u64>,
    /// Placement constraints.
    pub constraints: ConstraintsView,
}

/// Creates a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// Display name.
    pub name: String,
    /// The principal that owns it.
    pub owner: String,
    /// Principals acting for the owner.
    #[serde(default)]
    pub delegates: Vec<String>,
    /// Quotas by dimension name (`cores`, `ram_mib`, `disk_nvme_gib`, …).
    #[serde(default)]
    pub quotas: BTreeMap<String, u64>,
    /// Placement constraints.
    #[serde(default)]
    pub constraints: ConstraintsView,
}

/// A resource profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProfileView {
    /// Its id.
    pub id: ProfileId,
    /// Display name.
    pub name: String,
    /// What one unit needs.
    pub demand: CapacityView,
}

/// Creates or replaces a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProfileRequest {
    /// Display name.
    pub name: String,
    /// What one unit needs.
    pub demand: CapacityView,
}

impl CreateInfrastructure {
    /// The model's arguments: info and members.
    pub fn to_model(&self) -> Result<(InfraInfo, Vec<(DatacenterId, Membership)>)> {
        let members = self
            .datacenters
            .iter()
            .map(|(d, r)| Ok((id(d)?, *r)))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            InfraInfo {
                name: self.name.clone(),
            },
            members,
        ))
    }
}

impl UpdateInfrastructure {
    /// The members to set (a role) or remove (`None`), with their ids parsed.
    pub fn members(&self) -> Result<Vec<(DatacenterId, Option<Membership>)>> {
        self.datacenters
            .iter()
            .map(|(d, r)| Ok((id(d)?, *r)))
            .collect()
    }
}

fn dimension(field: &str, name: &str) -> Result<Dimension> {
    Dimension::parse(name).ok_or_else(|| Error::invalid(field, format!("no dimension {name:?}")))
}

impl UpdateTenant {
    /// The quotas to set or clear, with their dimensions parsed.
    pub fn quota_changes(&self) -> Result<Vec<(Dimension, Option<u64>)>> {
        self.quotas
            .iter()
            .map(|(d, q)| Ok((dimension("tenant.quotas", d)?, *q)))
            .collect()
    }

    /// The new constraints, when given.
    pub fn constraint_set(&self) -> Result<Option<Vec<Constraint>>> {
        self.constraints.as_ref().map(|c| c.to_model()).transpose()
    }
}

impl CreateTenant {
    /// The model's arguments: info, delegates, quotas and constraints.
    #[allow(clippy::type_complexity)] // The four parts of a tenant, named by the method.
    pub fn to_model(
        &self,
    ) -> Result<(
        TenantInfo,
        Vec<String>,
        Vec<(Dimension, u64)>,
        Vec<Constraint>,
    )> {
        let quotas = self
            .quotas
            .iter()
            .map(|(d, q)| Ok((dimension("tenant.quotas", d)?, *q)))
            .collect::<Result<Vec<_>>>()?;
        Ok((
            TenantInfo {
                name: self.name.clone(),
                owner: self.owner.clone(),
            },
            self.delegates.clone(),
            quotas,
            self.constraints.to_model()?,
        ))
    }
}

impl ConstraintsView {
    /// The model's constraints.
    pub fn to_model(&self) -> Result<Vec<Constraint>> {
        let mut out: Vec<Constraint> = self
            .datacenters
            .iter()
            .cloned()
            .map(Constraint::OnlyDatacenter)
            .chain(
                self.disk_classes
                    .iter()
                    .copied()
                    .map(Constraint::OnlyDiskClass),
            )
            .collect();
        out.extend(
            labels_from("tenant.constraints.labels", &self.labels)?
                .into_iter()
                .map(Constraint::RequireLabel),
        );
        Ok(out)
    }

    /// The view of `cs`.
    pub fn of<'a>(cs: impl IntoIterator<Item = &'a Constraint>) -> Self {
        let mut v = ConstraintsView::default();
        let mut labels = Vec::new();
        for c in cs {
            match c {
                Constraint::OnlyDatacenter(d) => v.datacenters.push(d.clone()),
                Constraint::OnlyDiskClass(k) => v.disk_classes.push(*k),
                Constraint::RequireLabel(l) => labels.push(l),
            }
        }
        v.labels = labels_to(labels);
        v
    }
}

impl ProfileRequest {
    /// The model's spec.
    pub fn to_model(&self) -> ProfileSpec {
        ProfileSpec {
            name: self.name.clone(),
            demand: self.demand.to_model(),
        }
    }
}

impl InfrastructureView {
    /// The view of infrastructure `id`, if it exists.
    pub fn of(m: &Model, id: &InfraId) -> Option<Self> {
        let i = m.logical.infrastructures.get(id)?;
        let datacenters = i
            .datacenters
            .iter()
            .map(|(d, r)| {
                let mut roles: Vec<Membership> = r.values().copied().collect();
                roles.sort();
                roles.dedup();
                (d.clone(), roles)
            })
            .collect();
        Some(InfrastructureView {
            id: id.clone(),
            name: i.info.get()?.name.clone(),
            datacenters,
            capacity: CapacityView::of(&m.infrastructure_capacity(id).ok()?),
        })
    }
}

impl TenantView {
    /// The view of tenant `id`, if it exists.
    pub fn of(m: &Model, id: &TenantId) -> Option<Self> {
        let t = m.logical.tenants.get(id)?;
        let info = t.info.get()?;
        Some(TenantView {
            id: id.clone(),
            name: info.name.clone(),
            owner: info.owner.clone(),
            delegates: t.delegates.iter().cloned().collect(),
            quotas: Dimension::ALL
                .into_iter()
                .filter_map(|d| t.quota(d).map(|q| (d.name().to_string(), q)))
                .collect(),
            constraints: ConstraintsView::of(t.constraints.iter()),
        })
    }
}

impl ProfileView {
    /// The view of profile `id`, if it exists.
    pub fn of(m: &Model, id: &ProfileId) -> Option<Self> {
        let s = m.logical.profiles.get(id)?.spec.get()?;
        Some(ProfileView {
            id: id.clone(),
            name: s.name.clone(),
            demand: CapacityView::of(&s.demand),
        })
    }
}

/// A page of infrastructures (filters: name, datacenter: a member).
pub fn list_infrastructures(m: &Model, q: &ListQuery) -> Result<Page<InfrastructureView>> {
    let f = q.parse()?;
    page(
        &m.logical.infrastructures,
        &f,
        |_, i| {
            i.info.get().is_some_and(|x| f.name_ok(&x.name))
                && f.label.is_none()
                && (f.datacenter.is_none()
                    || i.datacenters
                        .keys()
                        .any(|d| f.datacenter_ok(Some(d.as_str()))))
        },
        |id, _| InfrastructureView::of(m, id),
    )
}

/// A page of tenants (filter: name).
pub fn list_tenants(m: &Model, q: &ListQuery) -> Result<Page<TenantView>> {
    let f = q.parse()?;
    page(
        &m.logical.tenants,
        &f,
        |_, t| {
            t.info.get().is_some_and(|x| f.name_ok(&x.name))
                && f.label.is_none()
                && f.datacenter.is_none()
        },
        |id, _| TenantView::of(m, id),
    )
}

/// A page of profiles (filter: name).
pub fn list_profiles(m: &Model, q: &ListQuery) -> Result<Page<ProfileView>> {
    let f = q.parse()?;
    page(
        &m.logical.profiles,
        &f,
        |_, p| {
            p.spec.get().is_some_and(|x| f.name_ok(&x.name))
                && f.label.is_none()
                && f.datacenter.is_none()
        },
        |id, _| ProfileView::of(m, id),
    )
}
