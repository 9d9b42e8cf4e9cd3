//! The CRUD of any entity kind, written once: a kind says how to view, list, create, change
//! and delete its entities (with the model's views, request shapes and mutators), and these
//! handlers do the rest — authentication, tenant visibility, ids, the write path, the
//! status codes.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;
use crate::writer::WriteJob;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use horao_model::api::{ListQuery, MAX_LIMIT, Page};
use horao_model::ids::TenantId;
use horao_model::model::Model;
use horao_model::{Actor, Error as ModelError};
use rand::RngCore;
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Display;
use std::str::FromStr;

/// A change ready for the writer: its footprint and its mutation.
pub struct Write {
    keys: Vec<String>,
    f: crate::writer::Mutation,
}

impl Write {
    /// A change whose footprint is `keys` (see [`crate::writer`]).
    pub fn new(keys: Vec<String>, f: impl crate::writer::MutationFn) -> Self {
        Self {
            keys,
            f: Box::new(f),
        }
    }

    /// The job for the writer, run as `actor`.
    pub fn job(self, actor: Actor) -> WriteJob {
        WriteJob::mutate(actor, self.keys, self.f)
    }
}

/// The footprint key of entity `kind` `id`.
pub fn key(kind: &str, id: &impl Display) -> String {
    format!("{kind}/{id}")
}

/// An entity kind served under `/api/v1/{PATH}`.
pub trait Entity: Sized + Send + Sync + 'static {
    /// The collection's path segment (`datacenters`).
    const PATH: &'static str;
    /// The kind's name in errors and footprints (`datacenter`).
    const KIND: &'static str;
    /// Its id.
    type Id: FromStr<Err = ModelError> + Display + Clone + Send + Sync + 'static;
    /// Its JSON view.
    type View: Serialize + JsonSchema + Send;
    /// The view of `id`.
    fn view(m: &Model, id: &Self::Id) -> Option<Self::View>;
    /// A page of views.
    fn list(m: &Model, q: &ListQuery) -> horao_model::Result<Page<Self::View>>;
    /// The tenant owning the entity (tenants see only their own); `None` for kinds every
    /// role may read.
    fn owner(_v: &Self::View) -> Option<Option<&TenantId>> {
        None
    }
}

/// A kind clients create with POST.
pub trait Create: Entity {
    /// The request.
    type Request: DeserializeOwned + JsonSchema + Send + 'static;
    /// A new id for `req`.
    fn new_id(_req: &Self::Request) -> ApiResult<Self::Id> {
        new_id::<Self>()
    }
    /// The changes creating `id` from `req`, committed in order (most kinds need one).
    fn create(id: Self::Id, req: Self::Request) -> ApiResult<Vec<Write>>;
}

/// A kind clients change with PATCH.
pub trait Update: Entity {
    /// The request.
    type Request: DeserializeOwned + JsonSchema + Send + 'static;
    /// The changes of `id` by `req`, committed in order (most kinds need one).
    fn update(id: Self::Id, req: Self::Request) -> ApiResult<Vec<Write>>;
}

/// A kind clients delete with DELETE.
pub trait Delete: Entity {
    /// The change deleting `id`.
    fn delete(id: Self::Id) -> Write;
}

/// A random id for a new entity of kind `E`.
pub fn new_id<E: Entity>() -> ApiResult<E::Id> {
    let mut b = [0u8; 6];
    rand::rng().fill_bytes(&mut b);
    let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    E::Id::from_str(&format!("{}-{s}", E::KIND)).map_err(ApiError::from)
}

/// Parses a path id of kind `E` (422 when it breaks the id rule).
pub fn parse_id<E: Entity>(s: &str) -> ApiResult<E::Id> {
    E::Id::from_str(s).map_err(ApiError::from)
}

fn not_found<E: Entity>(id: &impl Display) -> ApiError {
    ApiError::not_found(format!("{} {id} not found", E::KIND))
}

/// The view of `id` as `caller` may see it (404 when it does not exist or is another
/// tenant's).
pub fn visible<E: Entity>(state: &AppState, caller: &Caller, id: &E::Id) -> ApiResult<E::View> {
    state
        .read(|m| E::view(m, id))
        .filter(|v| E::owner(v).is_none_or(|o| caller.may_see(o)))
        .ok_or_else(|| not_found::<E>(id))
}

/// `GET /{kind}/{id}`.
pub async fn get_one<E: Entity>(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<Json<E::View>> {
    let id = parse_id::<E>(&id)?;
    visible::<E>(&state, &caller, &id).map(Json)
}

/// `GET /{kind}`: a page; a tenant's listing holds only what it may see.
pub async fn list<E: Entity>(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<Page<E::View>>> {
    if caller.0.tenant().is_none() {
        return Ok(Json(state.read(|m| E::list(m, &q))?));
    }
    // Tenants: walk every page and keep what they may see, so `total` and `next` stay
    // right.
    let limit = q.limit.unwrap_or(horao_model::api::DEFAULT_LIMIT);
    let mut walk = ListQuery {
        limit: Some(MAX_LIMIT),
        ..q.clone()
    };
    let mut items = Vec::new();
    let mut total = 0;
    let mut next = None;
    loop {
        let page = state.read(|m| E::list(m, &walk))?;
        for v in page.items {
            if E::owner(&v).is_none_or(|o| caller.may_see(o)) {
                total += 1;
                if items.len() < limit {
                    items.push(v);
                } else if next.is_none() {
                    next = Some(());
                }
            }
        }
        match page.next {
            Some(n) => walk.after = Some(n),
            None => break,
        }
    }
    // The cursor of the next page is the last id shown: re-derive it from the JSON view.
    let next = match (next, items.last()) {
        (Some(()), Some(last)) => serde_json::to_value(last)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string)),
        _ => None,
    };
    Ok(Json(Page { items, total, next }))
}

/// Runs the changes `ws` in order as `caller`, stopping at the first refused one.
pub async fn commit(state: &AppState, caller: &Caller, ws: Vec<Write>) -> ApiResult<()> {
    for w in ws {
        state.write(w.job(caller.actor())).await?;
    }
    Ok(())
}

/// Runs the changes `ws` in order as `caller` (stopping at the first refused one) and
/// answers `status` with the view of `id`.
pub async fn commit_and_view<E: Entity>(
    state: &AppState,
    caller: &Caller,
    id: &E::Id,
    ws: Vec<Write>,
    status: StatusCode,
) -> ApiResult<Response> {
    commit(state, caller, ws).await?;
    let view = state
        .read(|m| E::view(m, id))
        .ok_or_else(|| not_found::<E>(id))?;
    Ok((status, Json(view)).into_response())
}

/// `POST /{kind}`: 201 with the created view.
pub async fn create<E: Create>(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<E::Request>,
) -> ApiResult<Response> {
    let id = E::new_id(&req)?;
    let w = E::create(id.clone(), req)?;
    commit_and_view::<E>(&state, &caller, &id, w, StatusCode::CREATED).await
}

/// `PATCH /{kind}/{id}`: 200 with the changed view.
pub async fn update<E: Update>(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<E::Request>,
) -> ApiResult<Response> {
    let id = parse_id::<E>(&id)?;
    visible::<E>(&state, &caller, &id)?;
    let w = E::update(id.clone(), req)?;
    commit_and_view::<E>(&state, &caller, &id, w, StatusCode::OK).await
}

/// `DELETE /{kind}/{id}`: 204.
pub async fn delete<E: Delete>(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<StatusCode> {
    let id = parse_id::<E>(&id)?;
    visible::<E>(&state, &caller, &id)?;
    state.write(E::delete(id).job(caller.actor())).await?;
    Ok(StatusCode::NO_CONTENT)
}
