//! The root document: one replicated state holding every sub-document of the model.
//!
//! Each sub-document owns a group of flat tables; [`Model`] joins them field by field. Every
//! mutator is a method on `Model` that reads the whole state (to validate references across
//! sub-documents) and returns a `Model` delta touching only what changed; run it through
//! [`horao_crdt::Replica::try_mutate`]. Adding a sub-document is one field here and one line
//! in each method of the `DotStore` implementation below.
//!
//! Besides the sub-documents, the model keeps a derived fit index (per capacity pool, a
//! timeline of its reservations and maintenance) in a [`horao_crdt::Derived`] slot: fit
//! queries build it on first use and each applied delta patches it (after the sub-documents'
//! own indexes are patched, which it reads); it is never stored, compared or sent.

use crate::claims::Claims;
use crate::claims::index::FitIndex;
use crate::environments::Environments;
use crate::logical::Logical;
use crate::physical::Physical;
use crate::storage::Storage;
use horao_crdt::{Derived, dot_store_struct};
use serde::{Deserialize, Serialize};

/// The version of the stored shape of [`Model`], written and checked in each snapshot's
/// header (see [`crate::snapshot`]).
pub use crate::snapshot::SCHEMA_VERSION;

/// The whole replicated model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Datacenters, rows, racks, devices and links.
    pub physical: Physical,
    /// Logical infrastructures, tenants and resource profiles.
    pub logical: Logical,
    /// Reservations and maintenance windows.
    pub claims: Claims,
    /// Machines, volumes, images and instances.
    pub storage: Storage,
    /// Environments and resources.
    pub environments: Environments,
    /// Per-pool timelines for fit queries, derived from the fields above.
    #[serde(skip)]
    pub(crate) fit: Derived<FitIndex>,
}
dot_store_struct!(Model { physical, logical, claims, storage, environments } derived fit);

impl Model {
    /// The fit index, built now if it is not yet.
    pub(crate) fn fit_index(&self) -> &FitIndex {
        self.fit.get_or_build(self)
    }

    /// Builds the derived fit index now if it is not built yet; otherwise the first fit
    /// query (admitting a reservation or maintenance window, an earliest-start search)
    /// builds it. Useful after loading a snapshot or merging a full state.
    pub fn build_fit_index(&self) {
        self.fit_index();
    }

    /// True when every derived index (fit, physical, storage), patched delta by
    /// delta, holds exactly what a rebuild from the state would (true for an index not
    /// built; costs a rebuild; for tests and consistency checks).
    pub fn indexes_are_consistent(&self) -> bool {
        self.fit.is_consistent(self)
            && self.physical.index_is_consistent()
            && self.storage.index_is_consistent()
    }
}

/// Whether an entity kind is hardware (created once, changed rarely, by few operators) or
/// software-defined (created and destroyed often, by many). Static and dynamic resources are
/// both first-class entities; the distinction guides who may write them and how they are
/// listed and cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ResourceKind {
    /// Physical resources: datacenters, rows, racks, devices, links.
    Static,
    /// Virtual resources and promises: volumes, instances, reservations, maintenance.
    Dynamic,
    /// Neither: descriptions that organise the others (tenants, profiles, infrastructures).
    Descriptive,
}

/// Every entity kind of the model, for the API's routes, the change feed and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A datacenter.
    Datacenter,
    /// A row of racks.
    Row,
    /// A rack.
    Rack,
    /// A device.
    Device,
    /// A network link.
    Link,
    /// A logical infrastructure.
    Infrastructure,
    /// A tenant.
    Tenant,
    /// A resource profile.
    Profile,
    /// A reservation.
    Reservation,
    /// A maintenance window.
    Maintenance,
    /// A storage host.
    Machine,
    /// A volume.
    Volume,
    /// An image.
    Image,
    /// A compute instance.
    Instance,
    /// An environment.
    Environment,
    /// A resource of an environment.
    Resource,
}

impl EntityKind {
    /// Every kind, in order.
    pub const ALL: [EntityKind; 16] = [
        EntityKind::Datacenter,
        EntityKind::Row,
        EntityKind::Rack,
        EntityKind::Device,
        EntityKind::Link,
        EntityKind::Infrastructure,
        EntityKind::Tenant,
        EntityKind::Profile,
        EntityKind::Reservation,
        EntityKind::Maintenance,
        EntityKind::Machine,
        EntityKind::Volume,
        EntityKind::Image,
        EntityKind::Instance,
        EntityKind::Environment,
        EntityKind::Resource,
    ];

    /// Lower-case name, as in errors, API paths and the change feed.
    pub fn name(self) -> &'static str {
        match self {
            EntityKind::Datacenter => "datacenter",
            EntityKind::Row => "row",
            EntityKind::Rack => "rack",
            EntityKind::Device => "device",
            EntityKind::Link => "link",
            EntityKind::Infrastructure => "infrastructure",
            EntityKind::Tenant => "tenant",
            EntityKind::Profile => "profile",
            EntityKind::Reservation => "reservation",
            EntityKind::Maintenance => "maintenance",
            EntityKind::Machine => "machine",
            EntityKind::Volume => "volume",
            EntityKind::Image => "image",
            EntityKind::Instance => "instance",
            EntityKind::Environment => "environment",
            EntityKind::Resource => "resource",
        }
    }

    /// Parses a name as given by [`EntityKind::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Static (hardware), dynamic (changes often) or descriptive.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            EntityKind::Datacenter
            | EntityKind::Row
            | EntityKind::Rack
            | EntityKind::Device
            | EntityKind::Link => ResourceKind::Static,
            EntityKind::Reservation
            | EntityKind::Maintenance
            | EntityKind::Machine
            | EntityKind::Volume
            | EntityKind::Image
            | EntityKind::Instance => ResourceKind::Dynamic,
            EntityKind::Infrastructure
            | EntityKind::Tenant
            | EntityKind::Profile
            | EntityKind::Environment
            | EntityKind::Resource => ResourceKind::Descriptive,
        }
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One entity a delta changes: its kind and id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Touched {
    /// The entity's kind.
    pub kind: EntityKind,
    /// Its id.
    pub id: String,
}

impl Model {
    /// Every entity `self` — a delta — changes: created, updated (including an agent's
    /// report) or removed, as `(kind, id)`, sorted. The API and the change feed use it to say
    /// what changed without diffing the model; whether the entity still exists is a lookup
    /// in the state the delta was applied to. Cost proportional to the delta.
    pub fn touched(&self) -> Vec<Touched> {
        fn keys<'a, K: ToString + 'a>(
            out: &mut Vec<Touched>,
            kind: EntityKind,
            ks: impl Iterator<Item = &'a K>,
        ) {
            out.extend(ks.map(|k| Touched {
                kind,
                id: k.to_string(),
            }));
        }
        let mut out = Vec::new();
        let (p, l, c, s, e) = (
            &self.physical,
            &self.logical,
            &self.claims,
            &self.storage,
            &self.environments,
        );
        keys(&mut out, EntityKind::Datacenter, p.datacenters.raw_keys());
        keys(&mut out, EntityKind::Row, p.rows.raw_keys());
        keys(&mut out, EntityKind::Rack, p.racks.raw_keys());
        keys(&mut out, EntityKind::Device, p.devices.raw_keys());
        keys(&mut out, EntityKind::Link, p.links.raw_keys());
        keys(
            &mut out,
            EntityKind::Infrastructure,
            l.infrastructures.raw_keys(),
        );
        keys(&mut out, EntityKind::Tenant, l.tenants.raw_keys());
        keys(&mut out, EntityKind::Profile, l.profiles.raw_keys());
        keys(&mut out, EntityKind::Reservation, c.reservations.raw_keys());
        keys(&mut out, EntityKind::Maintenance, c.maintenance.raw_keys());
        keys(&mut out, EntityKind::Machine, s.machines.raw_keys());
        keys(&mut out, EntityKind::Volume, s.volumes.raw_keys());
        keys(&mut out, EntityKind::Image, s.images.raw_keys());
        keys(&mut out, EntityKind::Instance, s.instances.raw_keys());
        keys(&mut out, EntityKind::Environment, e.environments.raw_keys());
        keys(&mut out, EntityKind::Resource, e.resources.raw_keys());
        out.sort();
        out.dedup();
        out
    }
}
