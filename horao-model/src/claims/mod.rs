//! Claims against capacity over time: reservations (a profile × count × window) and
//! maintenance windows (devices × window), admitted only when they fit, via horao-sched's
//! timeline.

pub mod conflicts;
pub mod fit;
pub(crate) mod index;
pub mod maintenance;
pub mod pool;
pub mod report;
pub mod reservation;
mod windows;

pub use conflicts::ClaimConflict;
pub use fit::{FitContext, Pool, PoolClaims};
pub use maintenance::{Maintenance, MaintenanceSpec};
pub use report::Overcommit;
pub use reservation::{Reservation, ReservationRequest, ReservationSpec};

use crate::error::{Error, Result};
use crate::model::Model;
use horao_crdt::{OrMap, dot_store_struct};
use serde::{Deserialize, Serialize};

pub use crate::ids::ClaimId;

/// A half-open window of time `[start, end)`, in the caller's unit (seconds, say). Time is
/// always a parameter; the model never reads a clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First instant.
    pub start: u64,
    /// First instant after the window.
    pub end: u64,
}

impl Window {
    /// Checks `start < end`.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.start < self.end {
            Ok(())
        } else {
            Err(Error::InvalidField {
                field: field.to_string(),
                reason: format!("start {} must be before end {}", self.start, self.end),
            })
        }
    }

    /// True when the windows share an instant.
    pub fn overlaps(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// The claims sub-document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Reservations.
    pub reservations: OrMap<ClaimId, Reservation>,
    /// Maintenance windows.
    pub maintenance: OrMap<ClaimId, Maintenance>,
}
dot_store_struct!(Claims {
    reservations,
    maintenance
});

impl Claims {
    /// Every complete reservation with its spec, by id.
    pub fn reservation_specs(&self) -> impl Iterator<Item = (&ClaimId, &ReservationSpec)> {
        self.reservations
            .iter()
            .filter_map(|(id, r)| r.spec.get().map(|s| (id, s)))
    }

    /// Every complete maintenance window with its spec, by id.
    pub fn maintenance_specs(&self) -> impl Iterator<Item = (&ClaimId, &MaintenanceSpec)> {
        self.maintenance
            .iter()
            .filter_map(|(id, m)| m.spec.get().map(|s| (id, s)))
    }

    fn exists(&self, id: &ClaimId) -> bool {
        self.reservations.contains_key(id) || self.maintenance.contains_key(id)
    }
}

impl Model {
    /// A model delta holding only the claims part `c`.
    pub(crate) fn from_claims(c: Claims) -> Model {
        Model {
            claims: c,
            ..Model::default()
        }
    }
}
