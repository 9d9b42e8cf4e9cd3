//! Conflicts of the claims: reservations naming removed entities or forbidden disk classes,
//! and pools whose claims exceed their capacity after concurrent claims merged.

use super::{ClaimId, Overcommit, Pool, report};
use crate::conflict::{Dangling, Incomplete};
use crate::logical::{Dimension, TenantId};
use crate::model::Model;
use serde::Serialize;
use std::fmt;

/// One broken invariant of the claims.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ClaimConflict {
    /// A reservation demands a disk class its tenant's constraints forbid: the constraint or
    /// the profile changed after the reservation was admitted, or concurrently with it.
    ForbiddenDisk {
        /// The reservation.
        reservation: ClaimId,
        /// Its tenant.
        tenant: TenantId,
        /// The first forbidden disk dimension it demands.
        dimension: Dimension,
    },
    /// A pool's claims exceed its capacity for a stretch of time.
    Overcommitted {
        /// The pool.
        pool: Pool,
        /// Where and by how much.
        over: Overcommit,
    },
    /// A reference to a missing entity.
    Dangling(Dangling),
    /// An entity missing a part.
    Incomplete(Incomplete),
}

impl ClaimConflict {
    fn dangling(
        kind: &'static str,
        id: &impl ToString,
        field: &'static str,
        target: String,
    ) -> Self {
        ClaimConflict::Dangling(Dangling::new(kind, id, field, target))
    }

    fn incomplete(kind: &'static str, id: &impl ToString, missing: &'static str) -> Self {
        ClaimConflict::Incomplete(Incomplete::new(kind, id, missing))
    }
}

impl fmt::Display for ClaimConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClaimConflict::ForbiddenDisk {
                reservation,
                tenant,
                dimension,
            } => write!(
                f,
                "reservation {reservation}: demands {dimension}, which tenant {tenant}'s constraints forbid"
            ),
            ClaimConflict::Overcommitted { pool, over } => write!(
                f,
                "{pool}: {} over during [{}, {}): needs {}, {} available",
                over.dimension, over.start, over.end, over.needed, over.available
            ),
            ClaimConflict::Dangling(d) => d.fmt(f),
            ClaimConflict::Incomplete(i) => i.fmt(f),
        }
    }
}

impl Model {
    /// Every conflict of the claims against the rest of the model, sorted.
    pub fn claim_conflicts(&self) -> Vec<ClaimConflict> {
        let mut out = Vec::new();
        let out = &mut out;
        let c = &self.claims;
        let l = &self.logical;
        for (id, r) in c.reservations.iter() {
            let Some(s) = r.spec.get() else {
                out.push(ClaimConflict::incomplete("reservation", id, "spec"));
                continue;
            };
            if !l.infrastructures.contains_key(&s.infrastructure) {
                let t = format!("infrastructure {}", s.infrastructure);
                out.push(ClaimConflict::dangling(
                    "reservation",
                    id,
                    "infrastructure",
                    t,
                ));
            }
            if !l.tenants.contains_key(&s.tenant) {
                out.push(ClaimConflict::dangling(
                    "reservation",
                    id,
                    "tenant",
                    format!("tenant {}", s.tenant),
                ));
            }
            if !l.profiles.contains_key(&s.profile) {
                let t = format!("profile {}", s.profile);
                out.push(ClaimConflict::dangling("reservation", id, "profile", t));
            }
            let demand = l
                .profiles
                .get(&s.profile)
                .and_then(|p| p.spec.get())
                .map(|p| p.demand.times(u64::from(s.count)));
            if let (Some(t), Some(d)) = (l.tenants.get(&s.tenant), demand)
                && let Some(dimension) = t.forbidden_disk(&d)
            {
                out.push(ClaimConflict::ForbiddenDisk {
                    reservation: id.clone(),
                    tenant: s.tenant.clone(),
                    dimension,
                });
            }
        }
        for (id, m) in c.maintenance.iter() {
            let Some(s) = m.spec.get() else {
                out.push(ClaimConflict::incomplete("maintenance", id, "spec"));
                continue;
            };
            for d in s
                .devices
                .iter()
                .filter(|d| !self.physical.devices.contains_key(d))
            {
                out.push(ClaimConflict::dangling(
                    "maintenance",
                    id,
                    "devices",
                    format!("device {d}"),
                ));
            }
        }
        let ctx = crate::claims::FitContext::new(self);
        for pool in ctx.all_pools() {
            for over in report::overcommits(&ctx.pool_claims(&pool, None)) {
                out.push(ClaimConflict::Overcommitted {
                    pool: pool.clone(),
                    over,
                });
            }
        }
        out.sort();
        out.dedup();
        std::mem::take(out)
    }
}
