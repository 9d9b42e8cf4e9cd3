//! Input validation for placement: the malformed inputs that are errors rather than reasons.

use std::collections::HashSet;

use super::types::{InvalidRequest, PlacementInput, Request};
use crate::vector::Resources;
use crate::{Error, Result};

/// Checks ids for uniqueness and every vector for its length. Usage may be empty (nothing in
/// use); everything else must have one entry per resource.
pub(crate) fn validate(input: &PlacementInput) -> Result<()> {
    let resources = &input.resources;
    let mut seen = HashSet::with_capacity(input.machines.len());
    for machine in &input.machines {
        if !seen.insert(machine.id.as_str()) {
            return Err(Error::DuplicateId {
                kind: "machine",
                id: machine.id.clone(),
            });
        }
        resources.check_len(
            || format!("machine {} capacity", machine.id),
            &machine.capacity,
        )?;
        if !machine.usage.is_empty() {
            resources.check_len(|| format!("machine {} usage", machine.id), &machine.usage)?;
        }
    }
    let mut seen = HashSet::with_capacity(input.requests.len());
    for request in &input.requests {
        if !seen.insert(request.id.as_str()) {
            return Err(Error::DuplicateId {
                kind: "request",
                id: request.id.clone(),
            });
        }
        resources.check_len(|| format!("request {} demand", request.id), &request.demand)?;
    }
    Ok(())
}

/// The amounts a valid request reserves (demand with dilation), or why it is invalid.
pub(crate) fn reserve(
    resources: &Resources,
    request: &Request,
) -> std::result::Result<Vec<u64>, InvalidRequest> {
    if request.demand.iter().all(|&x| x == 0) {
        return Err(InvalidRequest::ZeroDemand);
    }
    request
        .dilation
        .apply_all(&request.demand)
        .map_err(|r| InvalidRequest::DilationOverflow {
            resource: resources.name(r).unwrap_or_default().to_owned(),
        })
}
