//! The root document: one replicated state holding every sub-document of the model.
//!
//! Each sub-document owns a group of flat tables; [`Model`] joins them field by field. Every
//! mutator is a method on `Model` that reads the whole state (to validate references across
//! sub-documents) and returns a `Model` delta touching only what changed; run it through
//! [`horao_crdt::Replica::try_mutate`]. Adding a sub-document is one field here and one line
//! in each method of the `DotStore` implementation below.
//!
//! Besides the sub-documents, the model keeps a derived fit index (per capacity pool, a
//! timeline of its reservations and maintenance) that fit queries build on first use and
//! that each applied delta patches; it is never stored, compared or sent.

use crate::claims::Claims;
use crate::claims::index::patch::Touched;
use crate::claims::index::{FitCell, FitIndex};
use crate::logical::Logical;
use crate::physical::Physical;
use horao_crdt::{CausalContext, Dot, DotStore, JoinMode};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    pub storage: crate::lifecycle::Storage,
    /// Environments and resources.
    pub environments: crate::environments::Environments,
    /// Per-pool timelines for fit queries, derived from the fields above.
    #[serde(skip)]
    pub(crate) fit: FitCell,
}

impl DotStore for Model {
    fn is_bottom(&self) -> bool {
        self.physical.is_bottom()
            && self.logical.is_bottom()
            && self.claims.is_bottom()
            && self.storage.is_bottom()
            && self.environments.is_bottom()
    }

    fn for_each_dot(&self, f: &mut dyn FnMut(Dot)) {
        self.physical.for_each_dot(f);
        self.logical.for_each_dot(f);
        self.claims.for_each_dot(f);
        self.storage.for_each_dot(f);
        self.environments.for_each_dot(f);
    }

    fn join(&mut self, other: Self, ours: &CausalContext, theirs: &CausalContext, mode: JoinMode) {
        // A built fit index is patched for the keys an applied delta carries, recorded before
        // the join; any other join drops it, and the next fit query rebuilds it.
        let touched = (mode == JoinMode::Apply && self.fit.get().is_some())
            .then(|| Touched::of(self, &other));
        let index = self.fit.take();
        self.physical.join(other.physical, ours, theirs, mode);
        self.logical.join(other.logical, ours, theirs, mode);
        self.claims.join(other.claims, ours, theirs, mode);
        self.storage.join(other.storage, ours, theirs, mode);
        self.environments
            .join(other.environments, ours, theirs, mode);
        if let (Some(touched), Some(mut ix)) = (touched, index)
            && touched.apply(Arc::make_mut(&mut ix), self)
        {
            self.fit.put(ix);
        }
    }

    fn validate(&self) -> horao_crdt::Result<()> {
        self.physical.validate()?;
        self.logical.validate()?;
        self.claims.validate()?;
        self.storage.validate()?;
        self.environments.validate()
    }

    fn skeleton(&self) -> Self {
        Model {
            physical: self.physical.skeleton(),
            logical: self.logical.skeleton(),
            claims: self.claims.skeleton(),
            storage: self.storage.skeleton(),
            environments: self.environments.skeleton(),
            fit: FitCell::default(),
        }
    }
}

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

    /// True when the fit index, patched delta by delta, holds exactly what a rebuild from the
    /// state would (true when it is not built; O(claims · log claims + devices); for tests and
    /// consistency checks).
    pub fn fit_index_is_consistent(&self) -> bool {
        self.fit
            .get()
            .is_none_or(|ix| ix.same_entries(&FitIndex::build(self)))
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

/// Every entity kind of this part of the model, for the API's routes and error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
}

impl EntityKind {
    /// Every kind, in order.
    pub const ALL: [EntityKind; 10] = [
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
    ];

    /// Lower-case name, as in errors and API paths.
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
        }
    }

    /// Static (hardware), dynamic (changes often) or descriptive.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            EntityKind::Datacenter
            | EntityKind::Row
            | EntityKind::Rack
            | EntityKind::Device
            | EntityKind::Link => ResourceKind::Static,
            EntityKind::Reservation | EntityKind::Maintenance => ResourceKind::Dynamic,
            EntityKind::Infrastructure | EntityKind::Tenant | EntityKind::Profile => {
                ResourceKind::Descriptive
            }
        }
    }
}
