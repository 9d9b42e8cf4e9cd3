//! Maintenance windows: a set of devices out of service over a window, removing their
//! capacity from every pool they belong to.

use super::fit::FitContext;
use super::{ClaimId, Claims, Window};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::physical::DeviceId;
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrMap, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Most devices one maintenance window may name.
pub const MAX_DEVICES: usize = 100_000;

/// What a maintenance window takes down.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceSpec {
    /// The devices (at least one).
    pub devices: BTreeSet<DeviceId>,
    /// When.
    pub window: Window,
    /// Why, free text.
    pub reason: String,
}

/// A maintenance window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Maintenance {
    /// What is taken down, and when.
    pub spec: LwwReg<MaintenanceSpec>,
}
dot_store_struct!(Maintenance { spec });

fn maintenance(m: OrMap<ClaimId, Maintenance>) -> Model {
    Model::from_claims(Claims {
        maintenance: m,
        ..Claims::default()
    })
}

impl Model {
    /// Checks `spec` (its fields, its devices) and that every pool still holds its
    /// reservations throughout its window with its devices down — and, when it replaces
    /// window `replacing`, with that window's devices back.
    fn check_maintenance(&self, spec: &MaintenanceSpec, replacing: Option<&ClaimId>) -> Result<()> {
        spec.window.validate("maintenance.window")?;
        check_name("maintenance.reason", &spec.reason)?;
        if spec.devices.is_empty() || spec.devices.len() > MAX_DEVICES {
            return Err(Error::InvalidField {
                field: "maintenance.devices".into(),
                reason: format!("must name between 1 and {MAX_DEVICES} devices"),
            });
        }
        if let Some(d) = spec
            .devices
            .iter()
            .find(|d| !self.physical.devices.contains_key(d))
        {
            return Err(Error::not_found(DeviceId::KIND, d));
        }
        let mut ctx = FitContext::new(self);
        if let Some(id) = replacing {
            ctx.exclude_maintenance(id);
        }
        ctx.include_maintenance(spec);
        ctx.check_window(spec.window)
    }

    /// Delta creating maintenance window `id`, admitted only when every pool still holds its
    /// reservations throughout the window with the devices down.
    pub fn create_maintenance(
        &self,
        by: &Actor,
        id: &ClaimId,
        spec: MaintenanceSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(ClaimId::KIND, id.as_str(), ClaimId::KIND)?;
        if self.claims.exists(id) {
            return Err(Error::AlreadyExists {
                kind: ClaimId::KIND,
                id: id.to_string(),
            });
        }
        self.check_maintenance(&spec, None)?;
        Ok(maintenance(self.claims.maintenance.update(
            id.clone(),
            tx,
            |m, tx| Maintenance {
                spec: m.spec.write(spec, ts, tx),
            },
        )))
    }

    /// Delta replacing maintenance window `id`'s spec. It is admitted when every pool still
    /// holds its reservations throughout the new window with the new spec's devices down and
    /// the old spec's back (so a window can move onto a stretch that fits only without it).
    pub fn update_maintenance(
        &self,
        by: &Actor,
        id: &ClaimId,
        spec: MaintenanceSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(ClaimId::KIND, id.as_str(), ClaimId::KIND)?;
        let m = self
            .claims
            .maintenance
            .get(id)
            .ok_or_else(|| Error::not_found("maintenance", id))?;
        self.check_maintenance(&spec, Some(id))?;
        let delta = Maintenance {
            spec: m.spec.write(spec, ts, tx),
        };
        Ok(maintenance(crate::physical::single(id.clone(), delta, tx)))
    }

    /// Delta deleting maintenance window `id` (its devices are back for that window).
    pub fn delete_maintenance(&self, by: &Actor, id: &ClaimId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(ClaimId::KIND, id.as_str(), ClaimId::KIND)?;
        if !self.claims.maintenance.contains_key(id) {
            return Err(Error::not_found("maintenance", id));
        }
        Ok(maintenance(self.claims.maintenance.remove(id, tx)))
    }

    /// The reservations a maintenance window of `spec` would affect, with their tenants:
    /// those whose window overlaps it in an infrastructure holding one of its devices (the
    /// capacity they were promised shrinks while it lasts). Sorted by reservation id.
    pub fn maintenance_impact(
        &self,
        spec: &MaintenanceSpec,
    ) -> Vec<(ClaimId, crate::ids::TenantId)> {
        let dcs: std::collections::BTreeSet<&crate::ids::DatacenterId> = spec
            .devices
            .iter()
            .filter_map(|d| self.physical.device_datacenter(d))
            .collect();
        self.claims
            .reservation_specs()
            .filter(|(_, r)| r.window.overlaps(&spec.window))
            .filter(|(_, r)| {
                self.logical
                    .infrastructures
                    .get(&r.infrastructure)
                    .is_some_and(|i| i.active_members().iter().any(|d| dcs.contains(d)))
            })
            .map(|(id, r)| (id.clone(), r.tenant.clone()))
            .collect()
    }
}
