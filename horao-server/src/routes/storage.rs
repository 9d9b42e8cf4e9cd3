//! Storage and compute: machines (registered and reported by their agents), volumes (placed
//! by the model's placement on creation), images and instances. Everything that reads or
//! changes machines' room shares the footprint `placement`.

use super::generic::{self, Create, Delete, Entity, Write, key, parse_id, visible};
use super::physical::{delete_with, entity};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use horao_model::Actor;
use horao_model::Error as ModelError;
use horao_model::api::storage::{
    self as api, CloneVolume, CreateImage, CreateInstance, CreateVolume, ImageView, InstanceView,
    MOVE_NOT_IMPLEMENTED, MachineView, MoveVolume, PutMachine, ResizeVolume, VolumeCurrentView,
    VolumeView,
};
use horao_model::ids::{ImageId, InstanceId, MachineId, TenantId, VolumeId};
use horao_model::model::Model;
use horao_model::storage::{VolumeOp, VolumeSpec, VolumeState};

/// The footprint of every change that reads or changes the room left on machines.
pub const PLACEMENT: &str = "placement";

entity!(
    Machines,
    "machines",
    "machine",
    MachineId,
    MachineView,
    api::list_machines
);
entity!(
    Images,
    "images",
    "image",
    ImageId,
    ImageView,
    api::list_images
);
entity!(
    Instances,
    "instances",
    "instance",
    InstanceId,
    InstanceView,
    api::list_instances
);

/// The `volumes` collection (a tenant sees only its own).
#[derive(Debug)]
pub struct Volumes;

impl Entity for Volumes {
    const PATH: &'static str = "volumes";
    const KIND: &'static str = "volume";
    type Id = VolumeId;
    type View = VolumeView;
    fn view(m: &Model, id: &VolumeId) -> Option<VolumeView> {
        VolumeView::of(m, id)
    }
    fn list(
        m: &Model,
        q: &horao_model::api::ListQuery,
    ) -> horao_model::Result<horao_model::api::Page<VolumeView>> {
        api::list_volumes(m, q)
    }
    fn owner(v: &VolumeView) -> Option<Option<&TenantId>> {
        Some(v.tenant.as_ref())
    }
}

delete_with!(Machines, remove_machine, [PLACEMENT]);
delete_with!(Images, delete_image);
delete_with!(Instances, delete_instance);

impl Delete for Volumes {
    /// Asks for the volume's deletion (desired state `deleting`); its agent removes it.
    fn delete(id: VolumeId) -> Write {
        Write::new(
            vec![key(Self::KIND, &id), PLACEMENT.into()],
            move |m, by, ts, _, _, tx| m.set_volume_state(by, &id, VolumeState::Deleting, ts, tx),
        )
    }
}

impl Create for Volumes {
    type Request = CreateVolume;
    /// Creates the volume and places it on a machine, in one change.
    fn create(id: VolumeId, req: CreateVolume) -> ApiResult<Vec<Write>> {
        let (spec, source) = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), PLACEMENT.into()],
            move |m, by, ts, now, _, tx| {
                m.create_and_place_volume(by, &id, spec, source, now, ts, tx)
            },
        )])
    }
}

impl Create for Images {
    type Request = CreateImage;
    fn create(id: ImageId, req: CreateImage) -> ApiResult<Vec<Write>> {
        let mut keys = vec![key(Self::KIND, &id)];
        if let Some(v) = &req.from_volume {
            keys.push(key(Volumes::KIND, v));
        }
        let spec = req.to_model()?;
        Ok(vec![Write::new(keys, move |m, by, ts, _, _, tx| {
            m.create_image(by, &id, spec, ts, tx)
        })])
    }
}

impl Create for Instances {
    type Request = CreateInstance;
    fn create(id: InstanceId, req: CreateInstance) -> ApiResult<Vec<Write>> {
        let spec = req.to_model();
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id)],
            move |m, by, ts, _, _, tx| m.create_instance(by, &id, spec, ts, tx),
        )])
    }
}

fn volume_spec<'m>(m: &'m Model, id: &VolumeId) -> horao_model::Result<&'m VolumeSpec> {
    m.storage
        .volume(id)
        .and_then(|v| v.spec())
        .ok_or_else(|| ModelError::not_found(Volumes::KIND, id))
}

/// On the agent's routes an admin acts as the machine's agent (the agent accepts an admin
/// token): the model lets only a machine's agent write what it reports. `machine` names the
/// machine concerned, if any; every other writer is kept as it is.
fn as_agent(by: &Actor, machine: impl FnOnce() -> Option<MachineId>) -> Actor {
    match (by, machine()) {
        (Actor::User, Some(m)) => Actor::Agent(m),
        _ => by.clone(),
    }
}

/// `PUT /machines/{name}`: an agent (or an operator) registers a machine or reports it.
pub async fn put_machine(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath,
    ApiJson(req): ApiJson<PutMachine>,
) -> ApiResult<Response> {
    let id = parse_id::<Machines>(&name)?;
    let (spec, report) = req.to_model()?;
    let i = id.clone();
    let w = Write::new(
        vec![key(Machines::KIND, &id), PLACEMENT.into()],
        move |m, by, ts, _, _, tx| {
            let by = as_agent(by, || Some(i.clone()));
            m.put_machine(&by, &i, spec, report, ts, tx)
        },
    );
    generic::commit_and_view::<Machines>(&state, &caller, &id, vec![w], StatusCode::OK).await
}

/// `PUT /volumes/{id}/current`: the agent of the volume's machine reports its state.
pub async fn put_volume_current(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<VolumeCurrentView>,
) -> ApiResult<Response> {
    let id = parse_id::<Volumes>(&id)?;
    let report = req.to_model();
    let rejected = report.state == VolumeState::Rejected;
    let i = id.clone();
    let w = Write::new(vec![key(Volumes::KIND, &id)], move |m, by, ts, _, _, tx| {
        let by = as_agent(by, || {
            let v = m.storage.volume(&i)?;
            v.assigned().first().map(|&machine| machine.clone())
        });
        m.report_volume(&by, &i, report, ts, tx)
    });
    let mut writes = vec![w];
    if rejected {
        writes.push(replace_rejected(id.clone()));
    }
    generic::commit_and_view::<Volumes>(&state, &caller, &id, writes, StatusCode::OK).await
}

/// After an agent rejected a volume (no room for its quota), the server places it again,
/// on another machine: the model leaves out every machine that rejected it since it was
/// last placed by hand. The report is
/// committed first and stands whatever this does: when nothing can hold the volume (or it
/// changed meanwhile), it stays rejected with the agent's reason, and the agent's next report
/// of it tries again.
fn replace_rejected(id: VolumeId) -> Write {
    Write::new(
        vec![key(Volumes::KIND, &id), PLACEMENT.into()],
        move |m, _, ts, now, _, tx| match m.place_volume(&Actor::Server, &id, now, ts, tx) {
            Ok(delta) => Ok(delta),
            Err(e) => {
                tracing::info!(volume = %id, %e, "a rejected volume stays where it is");
                Ok(Model::default())
            }
        },
    )
}

/// `POST /volumes/{id}/resize`: starts a resize; answers the volume.
pub async fn resize_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<ResizeVolume>,
) -> ApiResult<Response> {
    let id = parse_id::<Volumes>(&id)?;
    visible::<Volumes>(&state, &caller, &id)?;
    let i = id.clone();
    let w = Write::new(
        vec![key(Volumes::KIND, &id), PLACEMENT.into()],
        move |m, by, ts, _, _, tx| {
            let op = req.to_model(volume_spec(m, &i)?.dilation_percent);
            m.begin_volume_op(by, &i, op, ts, tx)
        },
    );
    generic::commit_and_view::<Volumes>(&state, &caller, &id, vec![w], StatusCode::OK).await
}

/// `POST /volumes/{id}/clone`: starts a clone; answers 201 with the new volume.
pub async fn clone_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
    ApiJson(req): ApiJson<CloneVolume>,
) -> ApiResult<Response> {
    let id = parse_id::<Volumes>(&id)?;
    visible::<Volumes>(&state, &caller, &id)?;
    let into = generic::new_id::<Volumes>()?;
    let new = into.clone();
    let w = Write::new(
        vec![
            key(Volumes::KIND, &id),
            key(Volumes::KIND, &into),
            PLACEMENT.into(),
        ],
        move |m, by, ts, _, _, tx| {
            let op: VolumeOp = req.to_model(new, volume_spec(m, &id)?)?;
            m.begin_volume_op(by, &id, op, ts, tx)
        },
    );
    generic::commit_and_view::<Volumes>(&state, &caller, &into, vec![w], StatusCode::CREATED).await
}

/// `POST /volumes/{id}/move`: refused with 422 (naming `to`) for a volume the caller sees:
/// moving a volume between machines is not implemented yet, and nothing changes.
pub async fn move_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
    ApiJson(_req): ApiJson<MoveVolume>,
) -> ApiResult<Response> {
    let id = parse_id::<Volumes>(&id)?;
    visible::<Volumes>(&state, &caller, &id)?;
    Err(ApiError::unprocessable(MOVE_NOT_IMPLEMENTED).with_field("to"))
}

/// `POST /volumes/{id}/retry`: retries a volume its agent reported failed; answers the
/// volume.
pub async fn retry_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<Response> {
    let id = parse_id::<Volumes>(&id)?;
    visible::<Volumes>(&state, &caller, &id)?;
    let i = id.clone();
    let w = Write::new(vec![key(Volumes::KIND, &id)], move |m, by, ts, _, _, tx| {
        m.retry_volume(by, &i, ts, tx)
    });
    generic::commit_and_view::<Volumes>(&state, &caller, &id, vec![w], StatusCode::OK).await
}

/// `POST /volumes/{id}/purge`: removes a deleted volume its agent reported gone from the
/// table (marking it `gone` first when it is still `deleting`); 204.
pub async fn purge_volume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath,
) -> ApiResult<StatusCode> {
    let id = parse_id::<Volumes>(&id)?;
    visible::<Volumes>(&state, &caller, &id)?;
    let keys = vec![key(Volumes::KIND, &id), PLACEMENT.into()];
    let i = id.clone();
    let gone = Write::new(keys.clone(), move |m, by, ts, _, _, tx| {
        match m.storage.volume(&i).map(|v| v.desired_state()) {
            Some(VolumeState::Deleting) => m.set_volume_state(by, &i, VolumeState::Gone, ts, tx),
            _ => Ok(Model::default()),
        }
    });
    let purge = Write::new(keys, move |m, by, _, _, _, tx| m.purge_volume(by, &id, tx));
    generic::commit(&state, &caller, vec![gone, purge]).await?;
    Ok(StatusCode::NO_CONTENT)
}
