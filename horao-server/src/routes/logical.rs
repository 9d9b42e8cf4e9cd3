//! The logical layer's and the claims' kinds: infrastructures, tenants, profiles,
//! reservations and maintenance windows. Claims share the footprint `claims`, since the fit
//! check reads the whole pool.

use super::generic::{Create, Delete, Entity, Update, Write, key};
use super::physical::{Datacenters, delete_with, entity};
use crate::error::ApiResult;
use horao_model::api::claims::{
    self as claims_api, CreateMaintenance, CreateReservation, MaintenanceView, ReservationView,
};
use horao_model::api::logical::{
    self as api, CreateInfrastructure, CreateTenant, InfrastructureView, ProfileRequest,
    ProfileView, TenantView,
};
use horao_model::ids::{ClaimId, InfraId, ProfileId, TenantId};

/// The footprint of every claim: the fit check reads the pool's whole timeline.
pub const CLAIMS: &str = "claims";

entity!(
    Infrastructures,
    "infrastructures",
    "infrastructure",
    InfraId,
    InfrastructureView,
    api::list_infrastructures
);
entity!(
    Profiles,
    "profiles",
    "profile",
    ProfileId,
    ProfileView,
    api::list_profiles
);
entity!(
    Maintenance,
    "maintenance",
    "maintenance",
    ClaimId,
    MaintenanceView,
    claims_api::list_maintenance
);

/// The `tenants` collection (a tenant sees only itself).
#[derive(Debug)]
pub struct Tenants;

impl Entity for Tenants {
    const PATH: &'static str = "tenants";
    const KIND: &'static str = "tenant";
    type Id = TenantId;
    type View = TenantView;
    fn view(m: &horao_model::model::Model, id: &TenantId) -> Option<TenantView> {
        TenantView::of(m, id)
    }
    fn list(
        m: &horao_model::model::Model,
        q: &horao_model::api::ListQuery,
    ) -> horao_model::Result<horao_model::api::Page<TenantView>> {
        api::list_tenants(m, q)
    }
    fn owner(v: &TenantView) -> Option<Option<&TenantId>> {
        Some(Some(&v.id))
    }
}

/// The `reservations` collection (a tenant sees only its own).
#[derive(Debug)]
pub struct Reservations;

impl Entity for Reservations {
    const PATH: &'static str = "reservations";
    const KIND: &'static str = "reservation";
    type Id = ClaimId;
    type View = ReservationView;
    fn view(m: &horao_model::model::Model, id: &ClaimId) -> Option<ReservationView> {
        ReservationView::of(m, id)
    }
    fn list(
        m: &horao_model::model::Model,
        q: &horao_model::api::ListQuery,
    ) -> horao_model::Result<horao_model::api::Page<ReservationView>> {
        claims_api::list_reservations(m, q)
    }
    fn owner(v: &ReservationView) -> Option<Option<&TenantId>> {
        Some(Some(&v.tenant))
    }
}

delete_with!(Infrastructures, delete_infrastructure);
delete_with!(Tenants, delete_tenant);
delete_with!(Profiles, delete_profile);
delete_with!(Reservations, delete_reservation, [CLAIMS]);
delete_with!(Maintenance, delete_maintenance, [CLAIMS]);

impl Create for Infrastructures {
    type Request = CreateInfrastructure;
    /// The infrastructure, then each member datacenter.
    fn create(id: InfraId, req: CreateInfrastructure) -> ApiResult<Vec<Write>> {
        let (info, members) = req.to_model()?;
        let own = key(Self::KIND, &id);
        let mut ws = vec![{
            let id = id.clone();
            Write::new(vec![own.clone()], move |m, by, ts, _, _, tx| {
                m.create_infrastructure(by, &id, info, ts, tx)
            })
        }];
        for (dc, role) in members {
            let id = id.clone();
            ws.push(Write::new(
                vec![own.clone(), key(Datacenters::KIND, &dc)],
                move |m, by, _, _, _, tx| m.set_member(by, &id, &dc, role, tx),
            ));
        }
        Ok(ws)
    }
}

impl Create for Tenants {
    type Request = CreateTenant;
    /// The tenant, then its delegates, quotas and constraints.
    fn create(id: TenantId, req: CreateTenant) -> ApiResult<Vec<Write>> {
        let (info, delegates, quotas, constraints) = req.to_model()?;
        let own = vec![key(Self::KIND, &id)];
        let mut ws = Vec::new();
        let i = id.clone();
        ws.push(Write::new(own.clone(), move |m, by, ts, _, _, tx| {
            m.create_tenant(by, &i, info, ts, tx)
        }));
        for who in delegates {
            let i = id.clone();
            ws.push(Write::new(own.clone(), move |m, by, _, _, _, tx| {
                m.set_delegate(by, &i, &who, true, tx)
            }));
        }
        for (d, q) in quotas {
            let i = id.clone();
            ws.push(Write::new(
                vec![key(Self::KIND, &id), CLAIMS.into()],
                move |m, by, ts, _, _, tx| m.set_quota(by, &i, d, Some(q), ts, tx),
            ));
        }
        for c in constraints {
            let i = id.clone();
            ws.push(Write::new(own.clone(), move |m, by, _, _, _, tx| {
                m.set_constraint(by, &i, c, true, tx)
            }));
        }
        Ok(ws)
    }
}

impl Create for Profiles {
    type Request = ProfileRequest;
    fn create(id: ProfileId, req: ProfileRequest) -> ApiResult<Vec<Write>> {
        let spec = req.to_model();
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id)],
            move |m, by, ts, _, _, tx| m.create_profile(by, &id, spec, ts, tx),
        )])
    }
}

impl Update for Profiles {
    type Request = ProfileRequest;
    fn update(id: ProfileId, req: ProfileRequest) -> ApiResult<Vec<Write>> {
        let spec = req.to_model();
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), CLAIMS.into()],
            move |m, by, ts, _, _, tx| m.update_profile(by, &id, spec, ts, tx),
        )])
    }
}

impl Create for Reservations {
    type Request = CreateReservation;
    fn create(id: ClaimId, req: CreateReservation) -> ApiResult<Vec<Write>> {
        let spec = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), CLAIMS.into()],
            move |m, by, ts, _, _, tx| m.create_reservation(by, &id, spec, ts, tx),
        )])
    }
}

impl Update for Reservations {
    type Request = CreateReservation;
    fn update(id: ClaimId, req: CreateReservation) -> ApiResult<Vec<Write>> {
        let spec = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), CLAIMS.into()],
            move |m, by, ts, _, _, tx| m.update_reservation(by, &id, spec, ts, tx),
        )])
    }
}

impl Create for Maintenance {
    type Request = CreateMaintenance;
    fn create(id: ClaimId, req: CreateMaintenance) -> ApiResult<Vec<Write>> {
        let spec = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), CLAIMS.into()],
            move |m, by, ts, _, _, tx| m.create_maintenance(by, &id, spec, ts, tx),
        )])
    }
}
