//! The logical layer's and the claims' kinds: infrastructures, tenants, profiles,
//! reservations and maintenance windows. Claims share the footprint `claims`, since the fit
//! check reads the whole pool.

use super::generic::{self, Create, Delete, Entity, Update, Write, key};
use super::physical::{Datacenters, delete_with, entity};
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use horao_model::api::claims::{
    self as claims_api, CreateMaintenance, CreateReservation, MaintenanceView, ReservationView,
};
use horao_model::api::logical::{
    self as api, CreateInfrastructure, CreateTenant, InfrastructureView, ProfileRequest,
    ProfileView, TenantView, UpdateInfrastructure, UpdateTenant,
};
use horao_model::ids::{ClaimId, InfraId, ProfileId, TenantId};
use horao_model::logical::{InfraInfo, TenantInfo};
use horao_model::model::Model;
use horao_model::{Error as ModelError, Result as ModelResult};
use serde::Serialize;

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

/// Adds the change `next` to `delta`, so several of the model's mutators make one atomic
/// change.
fn and(delta: Option<Model>, next: Model) -> ModelResult<Option<Model>> {
    Ok(Some(match delta {
        None => next,
        Some(d) => horao_crdt::combine(d, next)?,
    }))
}

impl Update for Infrastructures {
    type Request = UpdateInfrastructure;
    /// The name and the members, in one change.
    fn update(id: InfraId, req: UpdateInfrastructure) -> ApiResult<Vec<Write>> {
        let members = req.members()?;
        let mut keys = vec![key(Self::KIND, &id)];
        keys.extend(members.iter().map(|(dc, _)| key(Datacenters::KIND, dc)));
        Ok(vec![Write::new(keys, move |m, by, ts, _, _, tx| {
            let mut delta = None;
            if let Some(name) = req.name {
                delta = and(
                    delta,
                    m.update_infrastructure(by, &id, InfraInfo { name }, ts, tx)?,
                )?;
            }
            for (dc, role) in members {
                let d = match role {
                    Some(role) => m.set_member(by, &id, &dc, role, tx)?,
                    None => m.remove_member(by, &id, &dc, tx)?,
                };
                delta = and(delta, d)?;
            }
            Ok(delta.unwrap_or_default())
        })])
    }
}

impl Update for Tenants {
    type Request = UpdateTenant;
    /// Name, owner, delegates, quotas and constraints, in one change.
    fn update(id: TenantId, req: UpdateTenant) -> ApiResult<Vec<Write>> {
        let quotas = req.quota_changes()?;
        let constraints = req.constraint_set()?;
        let mut keys = vec![key(Self::KIND, &id)];
        if !quotas.is_empty() {
            keys.push(CLAIMS.into());
        }
        Ok(vec![Write::new(keys, move |m, by, ts, _, _, tx| {
            let old = m
                .logical
                .tenants
                .get(&id)
                .ok_or_else(|| ModelError::not_found(Self::KIND, &id))?;
            let mut delta = None;
            if req.name.is_some() || req.owner.is_some() {
                let info = old
                    .info
                    .get()
                    .cloned()
                    .ok_or_else(|| ModelError::not_found(Self::KIND, &id))?;
                let info = TenantInfo {
                    name: req.name.unwrap_or(info.name),
                    owner: req.owner.unwrap_or(info.owner),
                };
                delta = and(delta, m.update_tenant(by, &id, info, ts, tx)?)?;
            }
            for (who, present) in &req.delegates {
                delta = and(delta, m.set_delegate(by, &id, who, *present, tx)?)?;
            }
            for (d, q) in quotas {
                delta = and(delta, m.set_quota(by, &id, d, q, ts, tx)?)?;
            }
            if let Some(new) = constraints {
                let current = old.constraint_list();
                for c in current.iter().filter(|c| !new.contains(c)) {
                    delta = and(delta, m.set_constraint(by, &id, c.clone(), false, tx)?)?;
                }
                for c in new.into_iter().filter(|c| !current.contains(c)) {
                    delta = and(delta, m.set_constraint(by, &id, c, true, tx)?)?;
                }
            }
            Ok(delta.unwrap_or_default())
        })])
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

impl Update for Maintenance {
    type Request = CreateMaintenance;
    /// Replaces the window's spec (see the model's `update_maintenance`).
    fn update(id: ClaimId, req: CreateMaintenance) -> ApiResult<Vec<Write>> {
        let spec = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), CLAIMS.into()],
            move |m, by, ts, _, _, tx| m.update_maintenance(by, &id, spec, ts, tx),
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

/// A maintenance window just created, with what it affects.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MaintenanceCreated {
    /// The window.
    #[serde(flatten)]
    pub window: MaintenanceView,
    /// The reservations whose promised capacity shrinks while it lasts (their window
    /// overlaps it in an infrastructure holding one of its devices).
    pub affected_reservations: Vec<ClaimId>,
    /// Their tenants, each once.
    pub affected_tenants: Vec<TenantId>,
}

/// `POST /maintenance`: 201 with the window and the reservations and tenants it affects.
pub async fn create_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CreateMaintenance>,
) -> ApiResult<Response> {
    let id = <Maintenance as Create>::new_id(&req)?;
    let spec = req.to_model()?;
    generic::commit(&state, &caller, Maintenance::create(id.clone(), req)?).await?;
    let (window, impact) =
        state.read(|m| (MaintenanceView::of(m, &id), m.maintenance_impact(&spec)));
    let window = window
        .ok_or_else(|| crate::error::ApiError::not_found(format!("maintenance {id} not found")))?;
    let mut affected_tenants: Vec<TenantId> = impact.iter().map(|(_, t)| t.clone()).collect();
    affected_tenants.sort();
    affected_tenants.dedup();
    let created = MaintenanceCreated {
        window,
        affected_reservations: impact.into_iter().map(|(r, _)| r).collect(),
        affected_tenants,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}
