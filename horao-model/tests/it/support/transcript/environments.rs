//! Transcript commands of environments and resources, and the dependency queries.
//!
//! ```text
//! env-create ID name=N [description=D] [tags=T,…] [entry=URL,…] [status=URL,…] [tenant=T]
//! env-update ID <the same, each optional>    env-status ID STATUS    env-delete ID
//! env-add ENV RESOURCE                       env-remove ENV RESOURCE
//! res-create ID name=N [description=D] [tags=…] [status=URL,…] [tenant=T]
//! res-update ID <the same, each optional>    res-delete ID
//! dep-add RESOURCE DEP                       dep-remove RESOURCE DEP
//! show env ID | res ID | depends-on RESOURCE | dependents DEP
//! ```
//!
//! A dependency `DEP` is a resource id or `external:ID`.

use super::{Args, Cmd, Layer, Out, commas, id, opt};
use horao_model::environments::*;
use horao_model::model::Model;
use horao_model::storage::StateMachine;

pub(super) const LAYER: Layer = Layer {
    commands: &[
        "env-create",
        "env-update",
        "env-status",
        "env-delete",
        "env-add",
        "env-remove",
        "res-create",
        "res-update",
        "res-delete",
        "dep-add",
        "dep-remove",
    ],
    deletes: &[],
    queries: &["env", "res", "depends-on", "dependents"],
    run,
    show,
};

fn run(c: Cmd<'_>, cmd: &str, a: &Args<'_>) -> Out {
    let env_input = EnvironmentInput {
        name: a.text("name"),
        description: a.text("description"),
        tags: a.texts("tags"),
        entry_points: a.texts("entry"),
        status_endpoints: a.texts("status"),
        tenant: a.get("tenant").map(id).transpose()?,
    };
    let res_input = ResourceInput {
        name: a.text("name"),
        description: a.text("description"),
        tags: a.texts("tags"),
        status_endpoints: a.texts("status"),
        tenant: a.get("tenant").map(id).transpose()?,
    };
    match cmd {
        "env-create" | "env-update" => {
            let e: EnvironmentId = a.id_at(0)?;
            let input = env_input;
            if cmd == "env-create" {
                c.mutate(|m, by, ts, _, tx| m.create_environment(by, &e, input, ts, tx))
            } else {
                c.mutate(|m, by, ts, _, tx| m.update_environment(by, &e, input, ts, tx))
            }
        }
        "env-status" => {
            let e: EnvironmentId = a.id_at(0)?;
            let to = EnvironmentStatus::parse(a.p(1)?).ok_or("bad status")?;
            c.mutate(|m, by, ts, _, tx| m.set_environment_status(by, &e, to, ts, tx))
        }
        "env-delete" => c.delete(a.p(0)?, Model::delete_environment),
        "env-add" | "env-remove" => {
            let (e, r): (EnvironmentId, ResourceId) = (a.id_at(0)?, a.id_at(1)?);
            if cmd == "env-add" {
                c.mutate(|m, by, _, _, tx| m.add_environment_resource(by, &e, &r, tx))
            } else {
                c.mutate(|m, by, _, _, tx| m.remove_environment_resource(by, &e, &r, tx))
            }
        }
        "res-create" | "res-update" => {
            let r: ResourceId = a.id_at(0)?;
            let input = res_input;
            if cmd == "res-create" {
                c.mutate(|m, by, ts, _, tx| m.create_resource(by, &r, input, ts, tx))
            } else {
                c.mutate(|m, by, ts, _, tx| m.update_resource(by, &r, input, ts, tx))
            }
        }
        "res-delete" => c.delete(a.p(0)?, Model::delete_resource),
        "dep-add" | "dep-remove" => {
            let r: ResourceId = a.id_at(0)?;
            let d = dependency(a.p(1)?)?;
            if cmd == "dep-add" {
                c.mutate(|m, by, _, _, tx| m.add_dependency(by, &r, d, tx))
            } else {
                c.mutate(|m, by, _, _, tx| m.remove_dependency(by, &r, &d, tx))
            }
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn show(m: &Model, what: &str, a: &Args<'_>) -> Out {
    let s = &m.environments;
    Ok(match what {
        "env" => match s.environment(&a.id_at(1)?) {
            None => "absent".into(),
            Some(e) => {
                let d = e.described().ok_or("environment without a description")?;
                format!(
                    "name={} description={} status={} tags={} entry={} status-endpoints={} resources={} tenant={}",
                    d.name,
                    d.description,
                    e.status(),
                    commas(e.tags()),
                    commas(e.entry_points()),
                    commas(e.status_endpoints()),
                    commas(e.resources()),
                    opt(e.tenant()),
                )
            }
        },
        "res" => match s.resource(&a.id_at(1)?) {
            None => "absent".into(),
            Some(r) => {
                let d = r.described().ok_or("resource without a description")?;
                format!(
                    "name={} description={} tags={} status-endpoints={} deps={} tenant={}",
                    d.name,
                    d.description,
                    commas(r.tags()),
                    commas(r.status_endpoints()),
                    commas(r.dependencies()),
                    opt(r.tenant()),
                )
            }
        },
        "depends-on" => commas(s.depends_on(&a.id_at(1)?).map_err(|e| e.to_string())?),
        _ => commas(s.dependents(&dependency(a.p(1)?)?)),
    })
}

/// A resource id, or `external:ID` for something outside the model.
fn dependency(s: &str) -> Result<Dependency, String> {
    Ok(match s.strip_prefix("external:") {
        Some(e) => Dependency::External(e.to_string()),
        None => Dependency::Resource(id(s)?),
    })
}
