//! Transcript commands of the logical layer: infrastructures and their member datacenters,
//! tenants with delegates, quotas and constraints, resource profiles, and capacity queries.
//!
//! ```text
//! infra ID name=N                          member INFRA DC [role=active|standby]
//! unmember INFRA DC                        tenant ID name=N owner=O
//! delegate TENANT +WHO|-WHO                quota TENANT DIMENSION=N|-
//! constraint TENANT +C|-C                  (C: dc:ID, disk:CLASS or label:LABEL)
//! profile ID name=N DIMENSION=N…           update-profile ID name=N DIMENSION=N…
//! delete infra|tenant|profile ID
//! show capacity [infra=I] [dc=D,…] [label=L,…] [tenant=T] | tenant ID | members INFRA
//! ```

use super::{Args, Cmd, Layer, Out, commas, id, join, label, toggle};
use crate::support::transcript::physical::name;
use horao_model::logical::*;
use horao_model::model::Model;
use horao_model::physical::DiskClass;

pub(super) const LAYER: Layer = Layer {
    commands: &[
        "infra",
        "member",
        "unmember",
        "tenant",
        "delegate",
        "quota",
        "constraint",
        "profile",
        "update-profile",
    ],
    deletes: &["infra", "tenant", "profile"],
    queries: &["capacity", "tenant", "members"],
    run,
    show,
};

fn run(c: Cmd<'_>, cmd: &str, a: &Args<'_>) -> Out {
    match cmd {
        "infra" => {
            let i: InfraId = a.id_at(0)?;
            let info = InfraInfo { name: name(a)? };
            c.mutate(|m, by, ts, _, tx| m.create_infrastructure(by, &i, info, ts, tx))
        }
        "member" => {
            let (i, dc): (InfraId, _) = (a.id_at(0)?, a.id_at(1)?);
            let role = match a.or("role", "active") {
                "active" => Membership::Active,
                "standby" => Membership::Standby,
                r => return Err(format!("bad role {r}")),
            };
            c.mutate(|m, by, _, _, tx| m.set_member(by, &i, &dc, role, tx))
        }
        "unmember" => {
            let (i, dc): (InfraId, _) = (a.id_at(0)?, a.id_at(1)?);
            c.mutate(|m, by, _, _, tx| m.remove_member(by, &i, &dc, tx))
        }
        "tenant" => {
            let t: TenantId = a.id_at(0)?;
            let info = TenantInfo {
                name: name(a)?,
                owner: a.s("owner")?.to_string(),
            };
            c.mutate(|m, by, ts, _, tx| m.create_tenant(by, &t, info, ts, tx))
        }
        "delegate" => {
            let t: TenantId = a.id_at(0)?;
            let (add, who) = toggle(a.p(1)?)?;
            c.mutate(|m, by, _, _, tx| m.set_delegate(by, &t, who, add, tx))
        }
        "quota" => {
            let t: TenantId = a.id_at(0)?;
            let (d, v) =
                a.kv.iter()
                    .find(|(k, _)| **k != "by")
                    .ok_or("quota T DIMENSION=N")?;
            let d = Dimension::parse(d).ok_or("bad dimension")?;
            let q = match *v {
                "-" => None,
                v => Some(v.parse().map_err(|_| "bad quota")?),
            };
            c.mutate(|m, by, ts, _, tx| m.set_quota(by, &t, d, q, ts, tx))
        }
        "constraint" => {
            let t: TenantId = a.id_at(0)?;
            let (add, s) = toggle(a.p(1)?)?;
            let c2 = constraint(s)?;
            c.mutate(|m, by, _, _, tx| m.set_constraint(by, &t, c2, add, tx))
        }
        "profile" | "update-profile" => {
            let p: ProfileId = a.id_at(0)?;
            let spec = ProfileSpec {
                name: name(a)?,
                demand: capacity(a)?,
            };
            if cmd == "profile" {
                c.mutate(|m, by, ts, _, tx| m.create_profile(by, &p, spec, ts, tx))
            } else {
                c.mutate(|m, by, ts, _, tx| m.update_profile(by, &p, spec, ts, tx))
            }
        }
        "delete" => {
            let x = a.p(1)?;
            match a.p(0)? {
                "infra" => c.delete(x, Model::delete_infrastructure),
                "tenant" => c.delete(x, Model::delete_tenant),
                _ => c.delete(x, Model::delete_profile),
            }
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn show(m: &Model, what: &str, a: &Args<'_>) -> Out {
    Ok(match what {
        "capacity" => {
            let mut scope = match a.get("infra") {
                Some(i) => m.infrastructure_scope(&id(i)?).map_err(|e| e.to_string())?,
                None => Scope::default(),
            };
            let dcs = a.list("dc");
            if !dcs.is_empty() {
                scope.datacenters = Some(dcs.into_iter().map(id).collect::<Result<_, _>>()?);
            }
            scope.labels = a.labels("label")?.into_iter().collect();
            if let Some(t) = a.get("tenant") {
                scope = m.tenant_scope(&id(t)?, scope).ok_or("no such tenant")?;
            }
            m.capacity(&scope).to_string()
        }
        "tenant" => {
            let t = m
                .logical
                .tenants
                .get(&a.id_at::<TenantId>(1)?)
                .ok_or("no such tenant")?;
            let quotas = Dimension::ALL
                .into_iter()
                .filter_map(|d| t.quota(d).map(|q| format!("{d}={q}")));
            format!(
                "owner={} delegates={} quotas={} constraints={}",
                t.info.get().map_or("-", |i| i.owner.as_str()),
                commas(t.delegates.iter()),
                commas(quotas),
                commas(t.constraint_list())
            )
        }
        _ => {
            let i = m
                .logical
                .infrastructures
                .get(&a.id_at::<InfraId>(1)?)
                .ok_or("no such infrastructure")?;
            join(i.datacenters.iter().map(|(d, r)| {
                let roles: Vec<String> = r
                    .values()
                    .map(|v| format!("{v:?}").to_lowercase())
                    .collect();
                format!("{d}:{}", roles.join("+"))
            }))
        }
    })
}

/// The demand given as `DIMENSION=N` pairs.
fn capacity(a: &Args<'_>) -> Result<Capacity, String> {
    let mut c = Capacity::default();
    for (k, v) in &a.kv {
        if let Some(d) = Dimension::parse(k) {
            c.set(d, v.parse().map_err(|_| format!("bad number {k}"))?);
        }
    }
    Ok(c)
}

fn constraint(s: &str) -> Result<Constraint, String> {
    Ok(match s.split_once(':') {
        Some(("dc", d)) => Constraint::OnlyDatacenter(id(d)?),
        Some(("disk", d)) => Constraint::OnlyDiskClass(DiskClass::parse(d).ok_or("bad class")?),
        Some(("label", l)) => Constraint::RequireLabel(label(l)?),
        _ => return Err(format!("bad constraint {s}")),
    })
}
