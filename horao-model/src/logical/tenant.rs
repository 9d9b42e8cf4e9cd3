//! Tenants: an owner, delegates, quotas per dimension and placement constraints.

use super::capacity::{Capacity, Dimension, Scope};
use super::{Logical, TenantId};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::label::Label;
use crate::model::Model;
use crate::physical::{DatacenterId, DiskClass, single};
use crate::validate::{check_name, check_word};
use horao_crdt::{LwwReg, OrMap, OrSet, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// Who a tenant is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInfo {
    /// Display name.
    pub name: String,
    /// The principal that owns the tenant.
    pub owner: String,
}

/// A restriction on where a tenant's claims may draw capacity from. Constraints of one kind
/// are a union (two `OnlyDatacenter` constraints allow both); kinds combine by intersection.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Constraint {
    /// Only devices in this datacenter.
    OnlyDatacenter(DatacenterId),
    /// Only disks of this class.
    OnlyDiskClass(DiskClass),
    /// Only devices carrying this label.
    RequireLabel(Label),
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Constraint::OnlyDatacenter(d) => write!(f, "dc:{d}"),
            Constraint::OnlyDiskClass(c) => write!(f, "disk:{}", c.name()),
            Constraint::RequireLabel(l) => write!(f, "label:{l}"),
        }
    }
}

/// A tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    /// Name and owner.
    pub info: LwwReg<TenantInfo>,
    /// Principals acting for the owner (add-wins).
    pub delegates: OrSet<String>,
    /// Most of each dimension the tenant's reservations may hold at any instant.
    pub quotas: OrMap<Dimension, LwwReg<u64>>,
    /// Placement constraints (add-wins).
    pub constraints: OrSet<Constraint>,
}
dot_store_struct!(Tenant {
    info,
    delegates,
    quotas,
    constraints
});

impl Tenant {
    /// The quota in `d`, if one is set.
    pub fn quota(&self, d: Dimension) -> Option<u64> {
        self.quotas.get(&d).and_then(|r| r.get()).copied()
    }

    /// The constraints, sorted.
    pub fn constraint_list(&self) -> Vec<Constraint> {
        self.constraints.iter().cloned().collect()
    }

    /// The disk classes the tenant's constraints allow (`None`: every class).
    pub fn allowed_disks(&self) -> Option<BTreeSet<DiskClass>> {
        Scope::default()
            .constrained(&self.constraint_list())
            .disk_classes
    }

    /// The first disk dimension `demand` asks for that the tenant's constraints forbid;
    /// `None` when it may use every class it asks for.
    pub fn forbidden_disk(&self, demand: &Capacity) -> Option<Dimension> {
        let allowed = self.allowed_disks()?;
        DiskClass::ALL
            .into_iter()
            .filter(|c| !allowed.contains(c))
            .map(Dimension::Disk)
            .find(|d| demand.get(*d) > 0)
    }
}

fn tenants(t: OrMap<TenantId, Tenant>) -> Model {
    Model::from_logical(Logical {
        tenants: t,
        ..Logical::default()
    })
}

impl Model {
    fn tenant(&self, id: &TenantId) -> Result<&Tenant> {
        self.logical
            .tenants
            .get(id)
            .ok_or_else(|| Error::not_found(TenantId::KIND, id))
    }

    /// Delta creating tenant `id`.
    pub fn create_tenant(
        &self,
        by: &Actor,
        id: &TenantId,
        info: TenantInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(TenantId::KIND, id.as_str(), TenantId::KIND)?;
        check_name("tenant.name", &info.name)?;
        check_word("tenant.owner", &info.owner)?;
        if self.logical.tenants.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: TenantId::KIND,
                id: id.to_string(),
            });
        }
        Ok(tenants(self.logical.tenants.update(
            id.clone(),
            tx,
            |t, tx| Tenant {
                info: t.info.write(info, ts, tx),
                ..Tenant::default()
            },
        )))
    }

    /// Delta replacing tenant `id`'s name and owner.
    pub fn update_tenant(
        &self,
        by: &Actor,
        id: &TenantId,
        info: TenantInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(TenantId::KIND, id.as_str(), TenantId::KIND)?;
        check_name("tenant.name", &info.name)?;
        check_word("tenant.owner", &info.owner)?;
        let t = self.tenant(id)?;
        let delta = Tenant {
            info: t.info.write(info, ts, tx),
            ..Tenant::default()
        };
        Ok(tenants(single(id.clone(), delta, tx)))
    }

    /// Delta adding (`present`) or removing a delegate of tenant `id`.
    pub fn set_delegate(
        &self,
        by: &Actor,
        id: &TenantId,
        who: &str,
        present: bool,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(TenantId::KIND, id.as_str(), TenantId::KIND)?;
        check_word("tenant.delegates", who)?;
        let t = self.tenant(id)?;
        let delegates = if present {
            t.delegates.add(who.to_string(), tx)
        } else {
            t.delegates.remove(&who.to_string(), tx)
        };
        let delta = Tenant {
            delegates,
            ..Tenant::default()
        };
        Ok(tenants(single(id.clone(), delta, tx)))
    }

    /// Delta setting (`Some`) or clearing tenant `id`'s quota in dimension `d`.
    pub fn set_quota(
        &self,
        by: &Actor,
        id: &TenantId,
        d: Dimension,
        quota: Option<u64>,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(TenantId::KIND, id.as_str(), TenantId::KIND)?;
        let t = self.tenant(id)?;
        let quotas = match quota {
            Some(q) => t.quotas.update(d, tx, |r, tx| r.write(q, ts, tx)),
            None => t.quotas.remove(&d, tx),
        };
        let delta = Tenant {
            quotas,
            ..Tenant::default()
        };
        Ok(tenants(single(id.clone(), delta, tx)))
    }

    /// Delta adding (`present`) or removing a constraint of tenant `id`. A datacenter
    /// constraint must name an existing datacenter.
    pub fn set_constraint(
        &self,
        by: &Actor,
        id: &TenantId,
        c: Constraint,
        present: bool,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(TenantId::KIND, id.as_str(), TenantId::KIND)?;
        let t = self.tenant(id)?;
        let constraints = if present {
            match &c {
                Constraint::OnlyDatacenter(dc) if !self.physical.datacenters.contains_key(dc) => {
                    return Err(Error::not_found(DatacenterId::KIND, dc));
                }
                _ => {}
            }
            t.constraints.add(c, tx)
        } else {
            t.constraints.remove(&c, tx)
        };
        let delta = Tenant {
            constraints,
            ..Tenant::default()
        };
        Ok(tenants(single(id.clone(), delta, tx)))
    }

    /// Delta deleting tenant `id`; refused while a reservation belongs to it.
    pub fn delete_tenant(&self, by: &Actor, id: &TenantId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(TenantId::KIND, id.as_str(), TenantId::KIND)?;
        self.tenant(id)?;
        if let Some((claim, _)) = self
            .claims
            .reservation_specs()
            .find(|(_, r)| &r.tenant == id)
        {
            return Err(Error::in_use(
                TenantId::KIND,
                id,
                format!("reservation {claim}"),
            ));
        }
        Ok(tenants(self.logical.tenants.remove(id, tx)))
    }
}
