//! The logical layer: infrastructures aggregating datacenters, tenants with quotas and
//! constraints, resource profiles, and capacity aggregated by dimension over any subset.

pub mod capacity;
pub mod conflicts;
pub mod infrastructure;
pub mod profile;
pub mod tenant;

pub use crate::ids::{InfraId, ProfileId, TenantId};
pub use capacity::{Capacity, CapacityIndex, DIMENSIONS, Dimension, ExactSum, Scope};
pub use conflicts::LogicalConflict;
pub use infrastructure::{InfraInfo, Infrastructure, Membership};
pub use profile::{Profile, ProfileSpec};
pub use tenant::{Constraint, Tenant, TenantInfo};

use crate::model::Model;
use horao_crdt::{OrMap, dot_store_struct};
use serde::{Deserialize, Serialize};

/// The logical sub-document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Logical {
    /// Logical infrastructures.
    pub infrastructures: OrMap<InfraId, Infrastructure>,
    /// Tenants.
    pub tenants: OrMap<TenantId, Tenant>,
    /// Resource profiles.
    pub profiles: OrMap<ProfileId, Profile>,
}
dot_store_struct!(Logical {
    infrastructures,
    tenants,
    profiles
});

impl Model {
    /// A model delta holding only the logical part `l`.
    pub(crate) fn from_logical(l: Logical) -> Model {
        Model {
            logical: l,
            ..Model::default()
        }
    }

    /// The scope tenant `t` may draw from within `scope` (its constraints applied), or
    /// `None` when the tenant does not exist.
    pub fn tenant_scope(&self, t: &TenantId, scope: Scope) -> Option<Scope> {
        let tenant = self.logical.tenants.get(t)?;
        Some(scope.constrained(&tenant.constraint_list()))
    }
}
