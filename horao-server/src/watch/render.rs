//! Rendering and filtering: an entity's usual API view as JSON with its *scope* (who may see
//! it), the per-kind dispatch over the API's [`Entity`] kinds, the snapshot of every matching
//! entity, and a watcher's [`Filter`] deciding what each record becomes for it.

use super::history::{Before, Record};
use crate::routes::environments::{Environments, Resources};
use crate::routes::generic::Entity;
use crate::routes::logical::{Infrastructures, Maintenance, Profiles, Reservations, Tenants};
use crate::routes::physical::{Datacenters, Devices, Links, Racks, Rows};
use crate::routes::storage::{Images, Instances, Machines, Volumes};
use horao_model::api::storage::VolumeView;
use horao_model::api::{ListQuery, MAX_LIMIT};
use horao_model::ids::{MachineId, TenantId};
use horao_model::model::{EntityKind, Model};
use std::str::FromStr;
use std::sync::Arc;

/// Who may see an entity.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every role may read the kind; `Some(owner)`: a tenant sees it only when it is
    /// the owner (the REST lists' rule).
    pub owner: Option<Option<TenantId>>,
    /// The machines it is on (a machine: itself; a volume: where it is placed; an image:
    /// the machines of the volumes holding its copies and of the volume it is taken from).
    /// Agents see only these kinds.
    pub machines: Vec<MachineId>,
}

/// An entity's view as JSON, with its scope.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The API view, serialized.
    pub json: Arc<str>,
    /// Who may see it.
    pub scope: Scope,
}

/// A kind served on the feed: an API [`Entity`] with the machines it is on.
trait Scoped: Entity {
    fn machines(_m: &Model, _id: &Self::Id, _v: &Self::View) -> Vec<MachineId> {
        Vec::new()
    }
}

macro_rules! unplaced {
    ($($ty:ty),*) => { $(impl Scoped for $ty {})* };
}
unplaced!(
    Datacenters,
    Rows,
    Racks,
    Devices,
    Links,
    Infrastructures,
    Tenants,
    Profiles,
    Reservations,
    Maintenance,
    Instances,
    Environments,
    Resources
);

impl Scoped for Machines {
    fn machines(_m: &Model, id: &MachineId, _v: &Self::View) -> Vec<MachineId> {
        vec![id.clone()]
    }
}

impl Scoped for Volumes {
    fn machines(_m: &Model, _id: &Self::Id, v: &VolumeView) -> Vec<MachineId> {
        v.machines.clone()
    }
}

impl Scoped for Images {
    fn machines(m: &Model, _id: &Self::Id, v: &Self::View) -> Vec<MachineId> {
        // Its copies, the volume it is taken from (the agent of that volume's machine makes
        // the image there) and its home (the machine that made it keeps it, and learns of its
        // deletion, after that volume is gone).
        let mut out: Vec<MachineId> = v
            .replicas
            .iter()
            .map(|r| &r.volume)
            .chain(v.from_volume.as_ref())
            .filter_map(|id| VolumeView::of(m, id))
            .flat_map(|vv| vv.machines)
            .chain(v.machine.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

fn scope_of<E: Scoped>(m: &Model, id: &E::Id, v: &E::View) -> Scope {
    Scope {
        owner: E::owner(v).map(|o| o.cloned()),
        machines: E::machines(m, id, v),
    }
}

fn one<E: Scoped>(m: &Model, id: &str) -> Option<Rendered> {
    let id = E::Id::from_str(id).ok()?;
    let v = E::view(m, &id)?;
    let scope = scope_of::<E>(m, &id, &v);
    let json = serde_json::to_string(&v).ok()?;
    Some(Rendered {
        json: json.into(),
        scope,
    })
}

fn scope_only<E: Scoped>(m: &Model, id: &str) -> Option<Scope> {
    let id = E::Id::from_str(id).ok()?;
    let v = E::view(m, &id)?;
    Some(scope_of::<E>(m, &id, &v))
}

/// Every entity of kind `E` `filter` sees, as `(id, rendered)`, in id order.
fn all<E: Scoped>(m: &Model, filter: &Filter, out: &mut Vec<(EntityKind, String, Arc<str>)>) {
    let kind = kind_of::<E>();
    let mut q = ListQuery {
        limit: Some(MAX_LIMIT),
        ..ListQuery::default()
    };
    if let Some(machine) = &filter.machine
        && kind == EntityKind::Volume
    {
        q.machine = Some(machine.to_string());
    }
    loop {
        let Ok(page) = E::list(m, &q) else { return };
        for v in &page.items {
            let Ok(value) = serde_json::to_value(v) else {
                continue;
            };
            let Some(id) = value.get("id").and_then(|i| i.as_str()) else {
                continue;
            };
            let Ok(parsed) = E::Id::from_str(id) else {
                continue;
            };
            if filter.sees(&scope_of::<E>(m, &parsed, v)) {
                out.push((kind, id.to_string(), value.to_string().into()));
            }
        }
        match page.next {
            Some(n) => q.after = Some(n),
            None => return,
        }
    }
}

fn kind_of<E: Entity>() -> EntityKind {
    // Every served kind's name is an `EntityKind` name (checked by a test below).
    EntityKind::parse(E::KIND).unwrap_or(EntityKind::Datacenter)
}

macro_rules! dispatch {
    ($kind:expr, $f:ident, $($arg:expr),*) => {
        match $kind {
            EntityKind::Datacenter => $f::<Datacenters>($($arg),*),
            EntityKind::Row => $f::<Rows>($($arg),*),
            EntityKind::Rack => $f::<Racks>($($arg),*),
            EntityKind::Device => $f::<Devices>($($arg),*),
            EntityKind::Link => $f::<Links>($($arg),*),
            EntityKind::Infrastructure => $f::<Infrastructures>($($arg),*),
            EntityKind::Tenant => $f::<Tenants>($($arg),*),
            EntityKind::Profile => $f::<Profiles>($($arg),*),
            EntityKind::Reservation => $f::<Reservations>($($arg),*),
            EntityKind::Maintenance => $f::<Maintenance>($($arg),*),
            EntityKind::Machine => $f::<Machines>($($arg),*),
            EntityKind::Volume => $f::<Volumes>($($arg),*),
            EntityKind::Image => $f::<Images>($($arg),*),
            EntityKind::Instance => $f::<Instances>($($arg),*),
            EntityKind::Environment => $f::<Environments>($($arg),*),
            EntityKind::Resource => $f::<Resources>($($arg),*),
        }
    };
}

/// The view of entity `kind` `id` in `m`, with its scope (`None`: it does not exist).
pub fn render(m: &Model, kind: EntityKind, id: &str) -> Option<Rendered> {
    dispatch!(kind, one, m, id)
}

/// The scope of entity `kind` `id` in `m` (`None`: it does not exist).
pub fn scope(m: &Model, kind: EntityKind, id: &str) -> Option<Scope> {
    dispatch!(kind, scope_only, m, id)
}

/// Every entity `filter` sees in `m`, as `(kind, id, view)`.
pub fn snapshot(m: &Model, filter: &Filter) -> Vec<(EntityKind, String, Arc<str>)> {
    let mut out = Vec::new();
    for kind in EntityKind::ALL {
        if filter.wants(kind) {
            dispatch!(kind, all, m, filter, &mut out);
        }
    }
    out
}

/// The kinds agents see on the feed.
pub const AGENT_KINDS: [EntityKind; 3] =
    [EntityKind::Machine, EntityKind::Volume, EntityKind::Image];

/// What one watcher sees: some kinds, a tenant's objects, one machine's objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The kinds asked for (`None`: all).
    pub kinds: Option<Vec<EntityKind>>,
    /// Only what this tenant may see (a tenant token).
    pub tenant: Option<TenantId>,
    /// Only this machine and what is placed on it (an agent token, or `machine=`).
    pub machine: Option<MachineId>,
}

/// What a record becomes for one watcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// The watcher sees it: its view.
    Put(Arc<str>),
    /// It was deleted from the model (the watcher could see it).
    Delete,
    /// It still exists but left the watcher's view (a volume re-placed on another machine,
    /// an object given to another tenant).
    Leave,
    /// Whether the watcher could see it before is not known: resync.
    Resync,
}

impl Filter {
    /// True when kind `k` is asked for.
    pub fn wants(&self, k: EntityKind) -> bool {
        let machine_ok = self.machine.is_none() || AGENT_KINDS.contains(&k);
        machine_ok && self.kinds.as_ref().is_none_or(|ks| ks.contains(&k))
    }

    /// True when an entity with `scope` is visible.
    pub fn sees(&self, scope: &Scope) -> bool {
        if let (Some(t), Some(owner)) = (&self.tenant, &scope.owner)
            && owner.as_ref() != Some(t)
        {
            return false;
        }
        match &self.machine {
            Some(m) => scope.machines.contains(m),
            None => true,
        }
    }

    /// What `r` becomes for this watcher (`None`: nothing).
    pub fn op(&self, r: &Record) -> Option<Op> {
        if !self.wants(r.kind) {
            return None;
        }
        if let (Some(after), Some(object)) = (&r.after, &r.object)
            && self.sees(after)
        {
            return Some(Op::Put(object.clone()));
        }
        let gone = if r.after.is_some() {
            Op::Leave
        } else {
            Op::Delete
        };
        match &r.before {
            Before::Absent => None,
            Before::Known(s) => self.sees(s).then_some(gone),
            // Without a tenant or machine restriction everything was visible.
            Before::Unknown if self.tenant.is_none() && self.machine.is_none() => Some(gone),
            Before::Unknown => Some(Op::Resync),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_kind_is_served() {
        fn check<E: Entity>() -> usize {
            assert!(EntityKind::parse(E::KIND).is_some(), "{}", E::KIND);
            1
        }
        let n: usize = EntityKind::ALL
            .into_iter()
            .map(|k| dispatch!(k, check,))
            .sum();
        assert_eq!(n, EntityKind::ALL.len());
        for k in EntityKind::ALL {
            assert_eq!(dispatch!(k, kind_of,), k);
        }
    }

    #[test]
    fn filters() {
        let acme = TenantId::from_str("tenant-acme").unwrap();
        let other = TenantId::from_str("tenant-other").unwrap();
        let m1 = MachineId::from_str("m1").unwrap();
        let rec = |before: Before, after: Option<Scope>| Record {
            kind: EntityKind::Volume,
            id: "volume-1".into(),
            object: after.as_ref().map(|_| Arc::from("{}")),
            after,
            before,
        };
        let mine = Scope {
            owner: Some(Some(acme.clone())),
            machines: vec![m1.clone()],
        };
        let theirs = Scope {
            owner: Some(Some(other)),
            machines: vec![],
        };
        let tenant = Filter {
            tenant: Some(acme),
            ..Filter::default()
        };
        let agent = Filter {
            machine: Some(m1),
            ..Filter::default()
        };
        let admin = Filter::default();
        let put = Some(Op::Put(Arc::from("{}")));
        assert_eq!(tenant.op(&rec(Before::Absent, Some(mine.clone()))), put);
        assert_eq!(tenant.op(&rec(Before::Absent, Some(theirs.clone()))), None);
        assert_eq!(
            tenant.op(&rec(Before::Known(mine.clone()), None)),
            Some(Op::Delete)
        );
        assert_eq!(tenant.op(&rec(Before::Known(theirs.clone()), None)), None);
        assert_eq!(tenant.op(&rec(Before::Unknown, None)), Some(Op::Resync));
        assert_eq!(admin.op(&rec(Before::Unknown, None)), Some(Op::Delete));
        // Moved off the agent's machine: it leaves the agent's view (not a delete).
        assert_eq!(
            agent.op(&rec(Before::Known(mine.clone()), Some(theirs))),
            Some(Op::Leave)
        );
        assert_eq!(
            agent.op(&rec(Before::Known(mine.clone()), None)),
            Some(Op::Delete)
        );
        assert_eq!(agent.op(&rec(Before::Absent, Some(mine))), put);
        assert!(!agent.wants(EntityKind::Datacenter));
        let kinds = Filter {
            kinds: Some(vec![EntityKind::Machine]),
            ..Filter::default()
        };
        assert!(!kinds.wants(EntityKind::Volume) && kinds.wants(EntityKind::Machine));
    }
}
