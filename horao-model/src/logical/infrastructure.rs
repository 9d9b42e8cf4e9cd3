//! Logical infrastructures: named aggregations of datacenters.
//!
//! Membership is a multi-value map (datacenter → multi-value register of [`Membership`]), as
//! the design asks: two operators who concurrently set different roles for one datacenter
//! both stay visible until someone writes again, and the conflict query reports it.

use super::capacity::{Capacity, Scope};
use super::{InfraId, Logical};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::physical::{DatacenterId, single};
use crate::validate::check_name;
use horao_crdt::{LwwReg, MvReg, OrMap, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What a logical infrastructure is called.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfraInfo {
    /// Display name.
    pub name: String,
}

/// The role a datacenter plays in an infrastructure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// Serves claims.
    Active,
    /// Counted in capacity reports, but kept for failover.
    Standby,
}

/// A logical infrastructure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Infrastructure {
    /// Name.
    pub info: LwwReg<InfraInfo>,
    /// Member datacenters and their roles (a multi-value map).
    pub datacenters: OrMap<DatacenterId, MvReg<Membership>>,
}
dot_store_struct!(Infrastructure { info, datacenters });

impl Infrastructure {
    /// Every member datacenter, whatever its role(s).
    pub fn members(&self) -> BTreeSet<DatacenterId> {
        self.datacenters.keys().cloned().collect()
    }

    /// The member datacenters with at least one `Active` role value; these serve claims.
    pub fn active_members(&self) -> BTreeSet<DatacenterId> {
        self.datacenters
            .iter()
            .filter(|(_, r)| r.values().any(|m| *m == Membership::Active))
            .map(|(d, _)| d.clone())
            .collect()
    }
}

fn infras(i: OrMap<InfraId, Infrastructure>) -> Model {
    Model::from_logical(Logical {
        infrastructures: i,
        ..Logical::default()
    })
}

impl Model {
    fn infrastructure(&self, id: &InfraId) -> Result<&Infrastructure> {
        self.logical
            .infrastructures
            .get(id)
            .ok_or_else(|| Error::not_found(InfraId::KIND, id))
    }

    /// Delta creating infrastructure `id` (with no datacenters yet).
    pub fn create_infrastructure(
        &self,
        by: &Actor,
        id: &InfraId,
        info: InfraInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(InfraId::KIND, id.as_str(), InfraId::KIND)?;
        check_name("infrastructure.name", &info.name)?;
        if self.logical.infrastructures.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: InfraId::KIND,
                id: id.to_string(),
            });
        }
        Ok(infras(self.logical.infrastructures.update(
            id.clone(),
            tx,
            |i, tx| Infrastructure {
                info: i.info.write(info, ts, tx),
                ..Infrastructure::default()
            },
        )))
    }

    /// Delta renaming infrastructure `id`.
    pub fn update_infrastructure(
        &self,
        by: &Actor,
        id: &InfraId,
        info: InfraInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(InfraId::KIND, id.as_str(), InfraId::KIND)?;
        check_name("infrastructure.name", &info.name)?;
        let i = self.infrastructure(id)?;
        let delta = Infrastructure {
            info: i.info.write(info, ts, tx),
            ..Infrastructure::default()
        };
        Ok(infras(single(id.clone(), delta, tx)))
    }

    /// Delta adding datacenter `dc` to infrastructure `id` with `role` (or changing its role).
    pub fn set_member(
        &self,
        by: &Actor,
        id: &InfraId,
        dc: &DatacenterId,
        role: Membership,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(InfraId::KIND, id.as_str(), InfraId::KIND)?;
        let i = self.infrastructure(id)?;
        if !self.physical.datacenters.contains_key(dc) {
            return Err(Error::not_found(DatacenterId::KIND, dc));
        }
        let delta = Infrastructure {
            datacenters: i
                .datacenters
                .update(dc.clone(), tx, |r, tx| r.write(role, tx)),
            ..Infrastructure::default()
        };
        Ok(infras(single(id.clone(), delta, tx)))
    }

    /// Delta removing datacenter `dc` from infrastructure `id`.
    pub fn remove_member(
        &self,
        by: &Actor,
        id: &InfraId,
        dc: &DatacenterId,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(InfraId::KIND, id.as_str(), InfraId::KIND)?;
        let i = self.infrastructure(id)?;
        if !i.datacenters.contains_key(dc) {
            return Err(Error::not_found(DatacenterId::KIND, dc));
        }
        let delta = Infrastructure {
            datacenters: i.datacenters.remove(dc, tx),
            ..Infrastructure::default()
        };
        Ok(infras(single(id.clone(), delta, tx)))
    }

    /// Delta deleting infrastructure `id`; refused while a reservation targets it.
    pub fn delete_infrastructure(&self, by: &Actor, id: &InfraId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(InfraId::KIND, id.as_str(), InfraId::KIND)?;
        self.infrastructure(id)?;
        if let Some((claim, _)) = self
            .claims
            .reservation_specs()
            .find(|(_, r)| &r.infrastructure == id)
        {
            return Err(Error::in_use(
                InfraId::KIND,
                id,
                format!("reservation {claim}"),
            ));
        }
        Ok(infras(self.logical.infrastructures.remove(id, tx)))
    }

    /// The scope of infrastructure `id`: its active datacenters.
    pub fn infrastructure_scope(&self, id: &InfraId) -> Result<Scope> {
        Ok(Scope {
            datacenters: Some(self.infrastructure(id)?.active_members()),
            ..Scope::default()
        })
    }

    /// The aggregated capacity of infrastructure `id` (its active datacenters).
    pub fn infrastructure_capacity(&self, id: &InfraId) -> Result<Capacity> {
        Ok(self.capacity(&self.infrastructure_scope(id)?))
    }
}
