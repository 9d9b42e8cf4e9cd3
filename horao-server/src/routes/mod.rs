//! The REST API under `/api/v1`: one table of routes from which both the router and the
//! OpenAPI document are built, so the document lists exactly what the router serves.

pub mod environments;
pub mod generic;
pub mod logical;
pub mod misc;
pub mod physical;
pub mod storage;

use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use environments::{Environments, Resources};
use generic::{Create, Delete, Entity, Update};
use horao_model::api::claims::CreateMaintenance;
use horao_model::api::environments::DependencyView;
use horao_model::api::logical::CapacityView;
use horao_model::api::storage::{
    CloneVolume, MachineView, MoveVolume, PutMachine, ResizeVolume, VolumeCurrentView, VolumeView,
};
use horao_model::api::{ListQuery, Page};
use horao_model::conflict::Conflict;
use horao_model::ids::ResourceId;
use horao_model::search::Hit;
use logical::{Infrastructures, Maintenance, Profiles, Reservations, Tenants};
use physical::{Datacenters, Devices, Links, Racks, Rows};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use storage::{Images, Instances, Machines, Volumes};

/// Any JSON object (the cluster routes' answers, built for operators to read).
type JsonObject = serde_json::Map<String, serde_json::Value>;

/// The API's prefix.
pub const PREFIX: &str = "/api/v1";

/// The schema of one Rust type, from the generator the OpenAPI document builds it with (a
/// request body's as the handler parses it, a response's as the handler renders it).
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// One route of the table.
#[derive(Clone, Debug)]
pub struct RouteInfo {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The path, with `{id}` parameters.
    pub path: String,
    /// What it does.
    pub summary: String,
    /// True when it needs a bearer token.
    pub auth: bool,
    /// The answer on success.
    pub success: u16,
    /// The query string's parameters (an object's properties), if it takes any.
    pub query: Option<SchemaFn>,
    /// The request body, if it takes one.
    pub request: Option<SchemaFn>,
    /// The body of the answer on success, if it has one.
    pub response: Option<SchemaFn>,
}

/// The router being built, with its table.
pub struct Api {
    router: Router<AppState>,
    routes: Vec<RouteInfo>,
}

impl Api {
    fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    /// Adds `handler` for `method` at `path`.
    fn add(
        mut self,
        method: &'static str,
        path: &str,
        success: u16,
        summary: impl Into<String>,
        handler: MethodRouter<AppState>,
    ) -> Self {
        let auth = !path.starts_with("/api/v1/health") && !path.ends_with("openapi.json");
        self.router = self.router.route(path, handler);
        self.routes.push(RouteInfo {
            method,
            path: path.to_string(),
            summary: summary.into(),
            auth,
            success,
            query: None,
            request: None,
            response: None,
        });
        self
    }

    /// The last route added, to describe.
    fn last(&mut self) -> Option<&mut RouteInfo> {
        self.routes.last_mut()
    }

    /// The last route's query string is `T`.
    fn query<T: JsonSchema>(mut self) -> Self {
        if let Some(r) = self.last() {
            r.query = Some(schema_of::<T>);
        }
        self
    }

    /// The last route's request body is `T`.
    fn body<T: JsonSchema>(mut self) -> Self {
        if let Some(r) = self.last() {
            r.request = Some(schema_of::<T>);
        }
        self
    }

    /// The last route answers `T` on success.
    fn answers<T: JsonSchema>(mut self) -> Self {
        if let Some(r) = self.last() {
            r.response = Some(schema_of::<T>);
        }
        self
    }

    fn read<E: Entity>(self) -> Self {
        let (coll, one) = (
            format!("{PREFIX}/{}", E::PATH),
            format!("{PREFIX}/{}/{{id}}", E::PATH),
        );
        self.add(
            "GET",
            &coll,
            200,
            format!("List {}", E::PATH),
            get(generic::list::<E>),
        )
        .query::<ListQuery>()
        .answers::<Page<E::View>>()
        .add(
            "GET",
            &one,
            200,
            format!("Get a {}", E::KIND),
            get(generic::get_one::<E>),
        )
        .answers::<E::View>()
    }

    fn create<E: Create>(self) -> Self {
        let coll = format!("{PREFIX}/{}", E::PATH);
        self.add(
            "POST",
            &coll,
            201,
            format!("Create a {}", E::KIND),
            post(generic::create::<E>),
        )
        .body::<E::Request>()
        .answers::<E::View>()
    }

    fn update<E: Update>(self) -> Self {
        let one = format!("{PREFIX}/{}/{{id}}", E::PATH);
        self.add(
            "PATCH",
            &one,
            200,
            format!("Change a {}", E::KIND),
            patch(generic::update::<E>),
        )
        .body::<<E as Update>::Request>()
        .answers::<E::View>()
    }

    fn delete<E: Delete>(self) -> Self {
        let one = format!("{PREFIX}/{}/{{id}}", E::PATH);
        self.add(
            "DELETE",
            &one,
            204,
            format!("Delete a {}", E::KIND),
            delete(generic::delete::<E>),
        )
    }

    fn crud<E: Create + Delete>(self) -> Self {
        self.read::<E>().create::<E>().delete::<E>()
    }

    /// The table.
    pub fn routes(&self) -> &[RouteInfo] {
        &self.routes
    }
}

/// Every route of the API, and the router serving them.
pub fn api() -> Api {
    let v = PREFIX;
    Api::new()
        .add(
            "GET",
            &format!("{v}/health/live"),
            200,
            "The process answers",
            get(misc::live),
        )
        .answers::<misc::Health>()
        .add(
            "GET",
            &format!("{v}/health/ready"),
            200,
            "The model is loaded",
            get(misc::ready),
        )
        .answers::<misc::Health>()
        .add(
            "GET",
            &format!("{v}/openapi.json"),
            200,
            "This document",
            get(crate::openapi::document),
        )
        .answers::<JsonObject>()
        .add(
            "POST",
            &format!("{v}/tokens"),
            201,
            "Mint a tenant or agent token",
            post(misc::mint_token),
        )
        .body::<misc::MintRequest>()
        .answers::<misc::Minted>()
        .add(
            "GET",
            &format!("{v}/search"),
            200,
            "Search every entity",
            get(misc::search),
        )
        .query::<misc::SearchQuery>()
        .answers::<Vec<Hit>>()
        .add(
            "GET",
            &format!("{v}/conflicts"),
            200,
            "Conflicts left by concurrent edits",
            get(misc::conflicts),
        )
        .answers::<Vec<Conflict>>()
        .add(
            "GET",
            &format!("{v}/capacity"),
            200,
            "Capacity by dimension",
            get(misc::capacity),
        )
        .query::<misc::CapacityQuery>()
        .answers::<CapacityView>()
        .add(
            "GET",
            &format!("{v}/gossip"),
            101,
            "A peer's gossip websocket (bearer: the cluster secret)",
            get(crate::gossip::listener::gossip),
        )
        .add(
            "GET",
            &format!("{v}/watch"),
            101,
            "A websocket feed of committed changes (?kinds=volume,machine&machine=NAME&since=CURSOR)",
            get(crate::watch::route::watch),
        )
        .query::<crate::watch::route::WatchQuery>()
        .add(
            "GET",
            &format!("{v}/cluster"),
            200,
            "This replica, its context and its peers (?hash=true: a content hash of the model)",
            get(crate::gossip::routes::cluster),
        )
        .query::<crate::gossip::routes::ClusterQuery>()
        .answers::<JsonObject>()
        .add(
            "POST",
            &format!("{v}/cluster/peers/{{id}}/retire"),
            200,
            "Retire a replica that is gone for good",
            post(crate::gossip::routes::retire),
        )
        .answers::<JsonObject>()
        .crud::<Datacenters>()
        .update::<Datacenters>()
        .crud::<Rows>()
        .crud::<Racks>()
        .update::<Racks>()
        .crud::<Devices>()
        .update::<Devices>()
        .crud::<Links>()
        .crud::<Infrastructures>()
        .update::<Infrastructures>()
        .crud::<Tenants>()
        .update::<Tenants>()
        .crud::<Profiles>()
        .update::<Profiles>()
        .read::<Reservations>()
        .add(
            "POST",
            &format!("{v}/reservations"),
            201,
            "Create a reservation (or ?earliest=true: its earliest start)",
            post(misc::create_reservation),
        )
        .query::<misc::EarliestFlag>()
        .body::<misc::ReservationBody>()
        .answers::<misc::ReservationAnswer>()
        .update::<Reservations>()
        .delete::<Reservations>()
        .read::<Maintenance>()
        .add(
            "POST",
            &format!("{v}/maintenance"),
            201,
            "Create a maintenance window; lists the reservations and tenants it affects",
            post(logical::create_maintenance),
        )
        .body::<CreateMaintenance>()
        .answers::<logical::MaintenanceCreated>()
        .update::<Maintenance>()
        .delete::<Maintenance>()
        .read::<Machines>()
        .add(
            "PUT",
            &format!("{v}/machines/{{id}}"),
            200,
            "Register or report a machine",
            put(storage::put_machine),
        )
        .body::<PutMachine>()
        .answers::<MachineView>()
        .delete::<Machines>()
        .crud::<Volumes>()
        .add(
            "PUT",
            &format!("{v}/volumes/{{id}}/current"),
            200,
            "An agent reports a volume",
            put(storage::put_volume_current),
        )
        .body::<VolumeCurrentView>()
        .answers::<VolumeView>()
        .add(
            "POST",
            &format!("{v}/volumes/{{id}}/resize"),
            200,
            "Resize a volume",
            post(storage::resize_volume),
        )
        .body::<ResizeVolume>()
        .answers::<VolumeView>()
        .add(
            "POST",
            &format!("{v}/volumes/{{id}}/clone"),
            201,
            "Clone a volume",
            post(storage::clone_volume),
        )
        .body::<CloneVolume>()
        .answers::<VolumeView>()
        .add(
            "POST",
            &format!("{v}/volumes/{{id}}/move"),
            200,
            "Move a volume to another machine: refused with 422 until moving data between machines is implemented",
            post(storage::move_volume),
        )
        .body::<MoveVolume>()
        .answers::<VolumeView>()
        .add(
            "POST",
            &format!("{v}/volumes/{{id}}/retry"),
            200,
            "Retry a volume its agent reported failed",
            post(storage::retry_volume),
        )
        .answers::<VolumeView>()
        .add(
            "POST",
            &format!("{v}/volumes/{{id}}/purge"),
            204,
            "Remove a volume its agent reported gone",
            post(storage::purge_volume),
        )
        .crud::<Images>()
        .crud::<Instances>()
        .crud::<Environments>()
        .update::<Environments>()
        .crud::<Resources>()
        .update::<Resources>()
        .add(
            "GET",
            &format!("{v}/resources/{{id}}/dependencies"),
            200,
            "What a resource depends on",
            get(environments::dependencies),
        )
        .answers::<environments::Related<DependencyView>>()
        .add(
            "GET",
            &format!("{v}/resources/{{id}}/dependents"),
            200,
            "What depends on a resource",
            get(environments::dependents),
        )
        .answers::<environments::Related<ResourceId>>()
}

/// The answer to a path no route serves.
pub async fn no_route() -> ApiError {
    ApiError::not_found("no such route")
}

/// The answer to a method a path does not serve.
pub async fn no_method() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this path does not serve this method",
    )
}

/// The API's router, without state and middleware.
pub fn router() -> Router<AppState> {
    api()
        .router
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
}
