//! Views and requests of the claims: reservations and maintenance windows.

use super::logical::CapacityView;
use super::{ListQuery, Page, id, page};
use crate::claims::{MaintenanceSpec, ReservationRequest, ReservationSpec, Window};
use crate::error::Result;
use crate::ids::{ClaimId, DeviceId, InfraId, ProfileId, TenantId};
use crate::model::Model;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// A reservation: a profile × count over `[start, end)`, for a tenant, in an infrastructure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ReservationView {
    /// Its id.
    pub id: ClaimId,
    /// The infrastructure.
    pub infrastructure: InfraId,
    /// The tenant.
    pub tenant: TenantId,
    /// The profile.
    pub profile: ProfileId,
    /// How many units.
    pub count: u32,
    /// First instant.
    pub start: u64,
    /// First instant after.
    pub end: u64,
    /// What it holds in all (the profile's demand × count), when the profile exists.
    pub demand: Option<CapacityView>,
}

/// Creates or replaces a reservation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateReservation {
    /// The infrastructure.
    pub infrastructure: String,
    /// The tenant.
    pub tenant: String,
    /// The profile.
    pub profile: String,
    /// How many units.
    pub count: u32,
    /// First instant.
    pub start: u64,
    /// First instant after.
    pub end: u64,
}

/// Asks for the earliest window a reservation fits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EarliestStartRequest {
    /// The infrastructure.
    pub infrastructure: String,
    /// The tenant.
    pub tenant: String,
    /// The profile.
    pub profile: String,
    /// How many units.
    pub count: u32,
    /// Length of the window.
    pub duration: u64,
    /// Earliest acceptable start.
    pub not_before: u64,
    /// The window must end by this instant.
    pub horizon: u64,
}

/// A maintenance window: devices out of service over `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MaintenanceView {
    /// Its id.
    pub id: ClaimId,
    /// The devices.
    pub devices: BTreeSet<DeviceId>,
    /// First instant.
    pub start: u64,
    /// First instant after.
    pub end: u64,
    /// Why.
    pub reason: String,
}

/// Creates a maintenance window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateMaintenance {
    /// The devices.
    pub devices: Vec<String>,
    /// First instant.
    pub start: u64,
    /// First instant after.
    pub end: u64,
    /// Why.
    pub reason: String,
}

impl CreateReservation {
    /// The model's spec.
    pub fn to_model(&self) -> Result<ReservationSpec> {
        Ok(ReservationSpec {
            infrastructure: id(&self.infrastructure)?,
            tenant: id(&self.tenant)?,
            profile: id(&self.profile)?,
            count: self.count,
            window: Window {
                start: self.start,
                end: self.end,
            },
        })
    }
}

impl EarliestStartRequest {
    /// The model's search.
    pub fn to_model(&self) -> Result<ReservationRequest> {
        Ok(ReservationRequest {
            infrastructure: id(&self.infrastructure)?,
            tenant: id(&self.tenant)?,
            profile: id(&self.profile)?,
            count: self.count,
            duration: self.duration,
            not_before: self.not_before,
            horizon: self.horizon,
        })
    }
}

impl CreateMaintenance {
    /// The model's spec.
    pub fn to_model(&self) -> Result<MaintenanceSpec> {
        Ok(MaintenanceSpec {
            devices: self.devices.iter().map(|d| id(d)).collect::<Result<_>>()?,
            window: Window {
                start: self.start,
                end: self.end,
            },
            reason: self.reason.clone(),
        })
    }
}

impl ReservationView {
    /// The view of reservation `id`, if it exists.
    pub fn of(m: &Model, id: &ClaimId) -> Option<Self> {
        let s = m.claims.reservations.get(id)?.spec.get()?;
        let demand = m
            .logical
            .profiles
            .get(&s.profile)
            .and_then(|p| p.spec.get())
            .map(|p| CapacityView::of(&p.demand.times(u64::from(s.count))));
        Some(ReservationView {
            id: id.clone(),
            infrastructure: s.infrastructure.clone(),
            tenant: s.tenant.clone(),
            profile: s.profile.clone(),
            count: s.count,
            start: s.window.start,
            end: s.window.end,
            demand,
        })
    }

    /// The tenant that owns reservation `id` (what a tenant's token may see).
    pub fn owner<'m>(m: &'m Model, id: &ClaimId) -> Option<&'m TenantId> {
        Some(&m.claims.reservations.get(id)?.spec.get()?.tenant)
    }
}

impl MaintenanceView {
    /// The view of maintenance window `id`, if it exists.
    pub fn of(m: &Model, id: &ClaimId) -> Option<Self> {
        let s = m.claims.maintenance.get(id)?.spec.get()?;
        Some(MaintenanceView {
            id: id.clone(),
            devices: s.devices.clone(),
            start: s.window.start,
            end: s.window.end,
            reason: s.reason.clone(),
        })
    }
}

/// A page of reservations (filter: `name` matches the tenant id).
pub fn list_reservations(m: &Model, q: &ListQuery) -> Result<Page<ReservationView>> {
    let f = q.parse()?;
    page(
        &m.claims.reservations,
        &f,
        |_, r| {
            r.spec.get().is_some_and(|s| f.name_ok(s.tenant.as_str()))
                && f.label.is_none()
                && f.datacenter.is_none()
        },
        |id, _| ReservationView::of(m, id),
    )
}

/// A page of maintenance windows (filter: datacenter of any device).
pub fn list_maintenance(m: &Model, q: &ListQuery) -> Result<Page<MaintenanceView>> {
    let f = q.parse()?;
    page(
        &m.claims.maintenance,
        &f,
        |_, x| {
            x.spec.get().is_some_and(|s| {
                f.name.is_none()
                    && f.label.is_none()
                    && (f.datacenter.is_none()
                        || s.devices.iter().any(|d| {
                            f.datacenter_ok(m.physical.device_datacenter(d).map(|x| x.as_str()))
                        }))
            })
        },
        |id, _| MaintenanceView::of(m, id),
    )
}
