//! Environments and resources (a tenant sees only its own), and the resources' dependency
//! graph.

use super::generic::{Create, Delete, Entity, Update, Write, key, parse_id, visible};
use super::physical::delete_with;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::ApiPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use horao_model::api::environments::{
    self as api, DependencyView, EnvironmentRequest, EnvironmentView, ResourceRequest, ResourceView,
};
use horao_model::environments::Dependency;
use horao_model::ids::{EnvironmentId, ResourceId, TenantId};
use horao_model::model::Model;
use schemars::JsonSchema;
use serde::Serialize;

/// Implements [`Entity`], [`Create`] and [`Update`] for a tenant-owned kind whose create and
/// update share one request shape.
macro_rules! owned {
    ($ty:ident, $path:literal, $kind:literal, $id:ty, $view:ty, $req:ty, $list:path, $create:ident, $update:ident) => {
        #[doc = concat!("The `", $path, "` collection (a tenant sees only its own).")]
        #[derive(Debug)]
        pub struct $ty;

        impl Entity for $ty {
            const PATH: &'static str = $path;
            const KIND: &'static str = $kind;
            type Id = $id;
            type View = $view;
            fn view(m: &Model, id: &$id) -> Option<$view> {
                <$view>::of(m, id)
            }
            fn list(
                m: &Model,
                q: &horao_model::api::ListQuery,
            ) -> horao_model::Result<horao_model::api::Page<$view>> {
                $list(m, q)
            }
            fn owner(v: &$view) -> Option<Option<&TenantId>> {
                Some(v.tenant.as_ref())
            }
        }

        impl Create for $ty {
            type Request = $req;
            fn create(id: $id, req: $req) -> ApiResult<Vec<Write>> {
                let input = req.to_model()?;
                Ok(vec![Write::new(
                    vec![key(Self::KIND, &id)],
                    move |m, by, ts, _, _, tx| m.$create(by, &id, input, ts, tx),
                )])
            }
        }

        impl Update for $ty {
            type Request = $req;
            fn update(id: $id, req: $req) -> ApiResult<Vec<Write>> {
                let input = req.to_model()?;
                Ok(vec![Write::new(
                    vec![key(Self::KIND, &id)],
                    move |m, by, ts, _, _, tx| m.$update(by, &id, input, ts, tx),
                )])
            }
        }
    };
}

owned!(
    Environments,
    "environments",
    "environment",
    EnvironmentId,
    EnvironmentView,
    EnvironmentRequest,
    api::list_environments,
    create_environment,
    update_environment
);
owned!(
    Resources,
    "resources",
    "resource",
    ResourceId,
    ResourceView,
    ResourceRequest,
    api::list_resources,
    create_resource,
    update_resource
);

delete_with!(Environments, delete_environment);
delete_with!(Resources, delete_resource);

/// The answer of the dependency queries.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Related_{T}")]
pub struct Related<T> {
    /// The resource asked about.
    pub id: ResourceId,
    /// What it depends on, or what depends on it.
    pub items: Vec<T>,
}

/// `GET /resources/{id}/dependencies`: everything it depends on, transitively.
pub async fn dependencies(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<Json<Related<DependencyView>>> {
    let id = parse_id::<Resources>(&id)?;
    visible::<Resources>(&state, &caller, &id)?;
    let deps = state.read(|m| m.environments.depends_on(&id))?;
    Ok(Json(Related {
        items: deps.iter().map(DependencyView::of).collect(),
        id,
    }))
}

/// `GET /resources/{id}/dependents`: every resource that depends on it, transitively.
pub async fn dependents(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<Json<Related<ResourceId>>> {
    let id = parse_id::<Resources>(&id)?;
    visible::<Resources>(&state, &caller, &id)?;
    let items = state.read(|m| m.environments.dependents(&Dependency::Resource(id.clone())));
    Ok(Json(Related { id, items }))
}
