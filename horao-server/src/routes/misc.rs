//! The routes that are not one kind's CRUD: health, search, conflicts, capacity, the
//! earliest start of a reservation, and minting tokens.

use super::generic::{self, Create};
use super::logical::Reservations;
use crate::auth::{Caller, Role, Tokens, new_token};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, parse_json};
use crate::state::AppState;
use crate::writer::WriteJob;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use horao_model::Label;
use horao_model::api::claims::{CreateReservation, EarliestStartRequest, ReservationView};
use horao_model::api::logical::CapacityView;
use horao_model::api::search::search_model;
use horao_model::ids::DatacenterId;
use horao_model::logical::Scope;
use horao_model::search::Hit;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The answer of the health routes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    /// `live` or `ready`.
    pub status: &'static str,
}

/// `GET /health/live`: the process answers.
pub async fn live() -> Json<Health> {
    Json(Health { status: "live" })
}

/// `GET /health/ready`: 200 once the store is loaded, 503 while shutting down.
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.is_ready() {
        Json(Health { status: "ready" }).into_response()
    } else {
        ApiError::unavailable("not ready").into_response()
    }
}

/// The search query.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// The words to find.
    pub q: String,
    /// Most hits (default 50, at most 1000).
    pub limit: Option<usize>,
}

/// `GET /search?q=`: ranked hits over every entity (admin: hits span every tenant).
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<Vec<Hit>>> {
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > horao_model::api::MAX_LIMIT {
        return Err(ApiError::unprocessable("limit must be between 1 and 1000").with_field("limit"));
    }
    caller.require_admin()?;
    Ok(Json(state.read(|m| search_model(m, &q.q, limit))))
}

/// `GET /conflicts`: what concurrent edits left inconsistent (admin).
pub async fn conflicts(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<serde_json::Value>> {
    caller.require_admin()?;
    let v = state.read(|m| serde_json::to_value(m.conflicts()));
    v.map(Json).map_err(|e| ApiError::internal(e.to_string()))
}

/// The capacity query: filters of the devices counted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityQuery {
    /// Only devices in this datacenter.
    pub datacenter: Option<String>,
    /// Only devices carrying this label (`key` or `key=value`).
    pub label: Option<String>,
}

/// `GET /capacity`: capacity aggregated by dimension.
pub async fn capacity(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<CapacityQuery>,
) -> ApiResult<Json<CapacityView>> {
    let mut scope = Scope::default();
    if let Some(dc) = &q.datacenter {
        scope.datacenters = Some([DatacenterId::new(dc.as_str())?].into());
    }
    if let Some(l) = &q.label {
        scope.labels.insert(Label::parse("label", l)?);
    }
    Ok(Json(state.read(|m| CapacityView::of(&m.capacity(&scope)))))
}

/// `?earliest=true` on reservation creation.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EarliestFlag {
    /// Answer the earliest start instead of creating.
    #[serde(default)]
    pub earliest: bool,
}

/// The earliest start of a reservation.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EarliestStart {
    /// The earliest start, or `null` when it fits nowhere before the horizon.
    pub earliest_start: Option<u64>,
}

/// The body of `POST /reservations`: a reservation, or with `?earliest=true` the request whose
/// earliest start to find (documentation only: the handler parses the one the flag names).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ReservationBody {
    /// Without `?earliest=true`.
    Create(CreateReservation),
    /// With `?earliest=true`.
    Earliest(EarliestStartRequest),
}

/// The answer of `POST /reservations` (documentation only, as [`ReservationBody`]).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ReservationAnswer {
    /// The reservation created.
    Created(ReservationView),
    /// Its earliest start, with `?earliest=true`.
    Earliest(EarliestStart),
}

/// `POST /reservations`: creates one (409 naming the pool, dimension and time that do not
/// fit), or with `?earliest=true` answers the earliest start of the request.
pub async fn create_reservation(
    state: State<AppState>,
    caller: Caller,
    ApiQuery(flag): ApiQuery<EarliestFlag>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> ApiResult<Response> {
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::internal(e.to_string()))?;
    if flag.earliest {
        caller.require_not_agent()?;
        let req: EarliestStartRequest = parse_json(&bytes)?;
        let req = req.to_model()?;
        let t = state.read(|m| m.earliest_start(&req))?;
        return Ok(Json(EarliestStart { earliest_start: t }).into_response());
    }
    let req = parse_json(&bytes)?;
    let id = <Reservations as Create>::new_id(&req)?;
    let ws = Reservations::create(id.clone(), req)?;
    generic::commit_and_view::<Reservations>(&state, &caller, &id, ws, StatusCode::CREATED).await
}

/// A request to mint a token: the role it carries.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct MintRequest(pub Role);

/// A minted token (shown once).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Minted {
    /// The token.
    pub token: String,
    /// Its role.
    #[serde(flatten)]
    pub role: Role,
}

/// `POST /tokens` (admin): mints a tenant, agent or peer token.
pub async fn mint_token(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(MintRequest(role)): ApiJson<MintRequest>,
) -> ApiResult<Response> {
    caller.require_admin()?;
    if role == Role::Admin {
        return Err(ApiError::unprocessable(
            "mint tenant, agent or peer tokens; the admin token is set at start",
        )
        .with_field("role"));
    }
    let token = new_token();
    let key = Tokens::key_of(&token);
    let value = serde_json::to_vec(&role).map_err(|e| ApiError::internal(e.to_string()))?;
    state
        .write(WriteJob::meta(key.clone(), vec![(key, Some(value))]))
        .await?;
    state
        .tokens
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .mint(&token, role.clone())?;
    Ok((StatusCode::CREATED, Json(Minted { token, role })).into_response())
}
