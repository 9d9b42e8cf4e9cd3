//! Identifiers of the logical layer's entities.

use crate::physical::ids::entity_id;

entity_id!(
    /// Identifies a logical infrastructure.
    InfraId,
    "infrastructure"
);
entity_id!(
    /// Identifies a tenant.
    TenantId,
    "tenant"
);
entity_id!(
    /// Identifies a resource profile.
    ProfileId,
    "profile"
);
