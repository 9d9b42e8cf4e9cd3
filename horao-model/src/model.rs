//! The root document: one replicated state holding every sub-document of the model.
//!
//! Each sub-document owns a group of flat tables; [`Model`] joins them field by field. Every
//! mutator is a method on `Model` that reads the whole state (to validate references across
//! sub-documents) and returns a `Model` delta touching only what changed; run it through
//! [`horao_crdt::Replica::try_mutate`]. Adding a sub-document is one field here and one name
//! in the `dot_store_struct!` line.

use crate::claims::Claims;
use crate::logical::Logical;
use crate::physical::Physical;
use horao_crdt::dot_store_struct;
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
    pub storage: crate::lifecycle::Storage,
    /// Environments and resources.
    pub environments: crate::environments::Environments,
}
dot_store_struct!(Model {
    physical,
    logical,
    claims,
    storage,
    environments
});

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
