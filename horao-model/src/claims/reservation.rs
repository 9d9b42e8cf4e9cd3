//! Reservations: a profile × count over a window, for a tenant, in an infrastructure.

use super::fit::FitContext;
use super::{ClaimId, Claims, Window};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::logical::{InfraId, ProfileId, TenantId};
use crate::model::Model;
use crate::physical::single;
use horao_crdt::{LwwReg, OrMap, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// Most units of a profile one reservation may ask for.
pub const MAX_COUNT: u32 = 1_000_000;

/// What a reservation promises.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationSpec {
    /// The infrastructure whose capacity is reserved.
    pub infrastructure: InfraId,
    /// Who it is for.
    pub tenant: TenantId,
    /// What one unit needs.
    pub profile: ProfileId,
    /// How many units (1 to [`MAX_COUNT`]).
    pub count: u32,
    /// When.
    pub window: Window,
}

/// A search for the earliest window a reservation fits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReservationRequest {
    /// The infrastructure.
    pub infrastructure: InfraId,
    /// The tenant.
    pub tenant: TenantId,
    /// The profile.
    pub profile: ProfileId,
    /// How many units.
    pub count: u32,
    /// Length of the window.
    pub duration: u64,
    /// Earliest acceptable start.
    pub not_before: u64,
    /// The window must end by this instant.
    pub horizon: u64,
}

/// A reservation. Its spec is one register: a change is a new, re-validated spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    /// What is reserved.
    pub spec: LwwReg<ReservationSpec>,
}
dot_store_struct!(Reservation { spec });

fn reservations(r: OrMap<ClaimId, Reservation>) -> Model {
    Model::from_claims(Claims {
        reservations: r,
        ..Claims::default()
    })
}

fn check_count(count: u32) -> Result<()> {
    if count == 0 || count > MAX_COUNT {
        return Err(Error::InvalidField {
            field: "reservation.count".into(),
            reason: format!("must be between 1 and {MAX_COUNT}"),
        });
    }
    Ok(())
}

impl Model {
    fn check_refs(&self, infra: &InfraId, tenant: &TenantId, profile: &ProfileId) -> Result<()> {
        if !self.logical.infrastructures.contains_key(infra) {
            return Err(Error::not_found(InfraId::KIND, infra));
        }
        if !self.logical.tenants.contains_key(tenant) {
            return Err(Error::not_found(TenantId::KIND, tenant));
        }
        if !self.logical.profiles.contains_key(profile) {
            return Err(Error::not_found(ProfileId::KIND, profile));
        }
        Ok(())
    }

    fn validate_reservation(&self, spec: &ReservationSpec) -> Result<()> {
        check_count(spec.count)?;
        spec.window.validate("reservation.window")?;
        self.check_refs(&spec.infrastructure, &spec.tenant, &spec.profile)
    }

    /// Delta creating reservation `id`, admitted only when it fits its infrastructure, its
    /// tenant's constrained share and quota at every instant of its window.
    pub fn create_reservation(
        &self,
        by: &Actor,
        id: &ClaimId,
        spec: ReservationSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_owner(
            Some(&spec.tenant),
            ClaimId::KIND,
            id.as_str(),
            "reservation",
        )?;
        self.validate_reservation(&spec)?;
        if self.claims.exists(id) {
            return Err(Error::AlreadyExists {
                kind: ClaimId::KIND,
                id: id.to_string(),
            });
        }
        FitContext::new(self).check_reservation(None, &spec)?;
        Ok(reservations(self.claims.reservations.update(
            id.clone(),
            tx,
            |r, tx| Reservation {
                spec: r.spec.write(spec, ts, tx),
            },
        )))
    }

    /// Delta replacing reservation `id`'s spec, admitted when the new spec fits with the old
    /// one taken out.
    pub fn update_reservation(
        &self,
        by: &Actor,
        id: &ClaimId,
        spec: ReservationSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        let r = self
            .claims
            .reservations
            .get(id)
            .ok_or_else(|| Error::not_found("reservation", id))?;
        // A tenant may change only its own reservation, and not give it to another tenant.
        let owner = r.spec.get().map(|s| &s.tenant);
        by.require_owner(owner, ClaimId::KIND, id.as_str(), "reservation")?;
        by.require_owner(
            Some(&spec.tenant),
            ClaimId::KIND,
            id.as_str(),
            "reservation",
        )?;
        self.validate_reservation(&spec)?;
        FitContext::new(self).check_reservation(Some(id), &spec)?;
        let delta = Reservation {
            spec: r.spec.write(spec, ts, tx),
        };
        Ok(reservations(single(id.clone(), delta, tx)))
    }

    /// Delta deleting reservation `id`.
    pub fn delete_reservation(&self, by: &Actor, id: &ClaimId, tx: &mut Tx) -> Result<Model> {
        let r = self
            .claims
            .reservations
            .get(id)
            .ok_or_else(|| Error::not_found("reservation", id))?;
        let owner = r.spec.get().map(|s| &s.tenant);
        by.require_owner(owner, ClaimId::KIND, id.as_str(), "reservation")?;
        Ok(reservations(self.claims.reservations.remove(id, tx)))
    }

    /// The earliest start at which `req` would be admitted (see
    /// [`FitContext::earliest_start`]); `None` when it fits nowhere before the horizon.
    pub fn earliest_start(&self, req: &ReservationRequest) -> Result<Option<u64>> {
        check_count(req.count)?;
        if req.duration == 0 {
            return Err(Error::InvalidField {
                field: "reservation.duration".into(),
                reason: "must be positive".into(),
            });
        }
        self.check_refs(&req.infrastructure, &req.tenant, &req.profile)?;
        FitContext::new(self).earliest_start(req)
    }
}
