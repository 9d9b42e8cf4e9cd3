//! The API's contract in one place: the JSON view of every entity kind, the request shapes
//! that create and change them, listings with pagination and filters, and search.
//!
//! Views are built from the replicated document and never stored; they show what an operator
//! thinks about — names, labels as a `{key: value}` object, capacities as named fields with
//! their unit (`cpu_cores`, `ram_bytes`, …), enums as snake_case strings — never CRDT
//! internals (dots, registers, order keys). Requests carry only what a client chooses; each
//! turns into the arguments of one model mutator, or an [`Error`] naming the field. Every
//! request refuses unknown fields. The JSON of every view and request is pinned by the test
//! vectors under `testdata/api/`: a change to a name here is a change of the public API.

pub mod claims;
pub mod environments;
pub mod logical;
pub mod physical;
pub mod search;
pub mod storage;

use crate::error::{Error, Result};
use crate::label::Label;
use horao_crdt::OrMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::Bound;
use std::str::FromStr;

/// Labels as JSON: key to value, an empty value for a bare key.
pub type LabelMap = BTreeMap<String, String>;

/// Default page length.
pub const DEFAULT_LIMIT: usize = 100;
/// Longest page.
pub const MAX_LIMIT: usize = 1000;

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schema", schemars(rename = "Page_of_{T}"))]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// How many items match the query in all.
    pub total: usize,
    /// The cursor of the next page (the last id of this one), when more items follow.
    pub next: Option<String>,
}

/// What a listing returns: a page after a cursor, filtered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Page length (default [`DEFAULT_LIMIT`], at most [`MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// The cursor: list the items after this id.
    pub after: Option<String>,
    /// Only items with exactly this name.
    pub name: Option<String>,
    /// Only items whose labels meet this label (`key`: any value; `key=value`: that value).
    pub label: Option<String>,
    /// Only items in this datacenter (where an item has one).
    pub datacenter: Option<String>,
    /// Only volumes placed on this machine.
    pub machine: Option<String>,
}

/// A parsed [`ListQuery`].
#[derive(Clone, Debug)]
pub(crate) struct Filter {
    pub(crate) limit: usize,
    pub(crate) after: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) label: Option<Label>,
    pub(crate) datacenter: Option<String>,
    pub(crate) machine: Option<String>,
}

impl ListQuery {
    /// Checks the query: a limit from 1 to [`MAX_LIMIT`], a well-formed label.
    pub(crate) fn parse(&self) -> Result<Filter> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let label = self
            .label
            .as_deref()
            .map(|l| Label::parse("label", l))
            .transpose()?;
        Ok(Filter {
            limit,
            after: self.after.clone(),
            name: self.name.clone(),
            label,
            datacenter: self.datacenter.clone(),
            machine: self.machine.clone(),
        })
    }
}

impl Filter {
    /// True when `name` passes the name filter.
    pub(crate) fn name_ok(&self, name: &str) -> bool {
        self.name.as_deref().is_none_or(|n| n == name)
    }

    /// True when `labels` pass the label filter.
    pub(crate) fn labels_ok<'a>(&self, labels: impl IntoIterator<Item = &'a Label>) -> bool {
        self.label.as_ref().is_none_or(|l| l.is_met_by_any(labels))
    }

    /// True when `dc` passes the datacenter filter (`None`: the item has no datacenter, and
    /// only passes when there is no filter).
    pub(crate) fn datacenter_ok(&self, dc: Option<&str>) -> bool {
        self.datacenter.as_deref().is_none_or(|d| Some(d) == dc)
    }
}

/// One page of `map`'s entries that `keep` accepts, after the query's cursor, rendered by
/// `view`. `total` counts every accepted entry.
pub(crate) fn page<K, V, T>(
    map: &OrMap<K, V>,
    f: &Filter,
    keep: impl Fn(&K, &V) -> bool,
    view: impl Fn(&K, &V) -> Option<T>,
) -> Result<Page<T>>
where
    K: Ord + Clone + std::fmt::Debug + std::fmt::Display + FromStr<Err = Error>,
    V: horao_crdt::DotStore,
{
    let total = map.iter().filter(|(k, v)| keep(k, v)).count();
    let after = f
        .after
        .as_deref()
        .map(K::from_str)
        .transpose()
        .map_err(|e| Error::invalid("after", format!("is not a cursor of this listing: {e}")))?;
    let lower = after.as_ref().map_or(Bound::Unbounded, Bound::Excluded);
    let mut items = Vec::new();
    let mut last = None;
    let mut more = false;
    for (k, v) in map.range((lower, Bound::Unbounded)) {
        if !keep(k, v) {
            continue;
        }
        if items.len() == f.limit {
            more = true;
            break;
        }
        if let Some(t) = view(k, v) {
            items.push(t);
            last = Some(k.to_string());
        }
    }
    Ok(Page {
        items,
        total,
        next: if more { last } else { None },
    })
}

/// Parses a label map of a request.
pub(crate) fn labels_from(field: &str, map: &LabelMap) -> Result<Vec<Label>> {
    crate::label::from_map(field, map)
}

/// Renders labels as a map.
pub(crate) fn labels_to<'a>(labels: impl IntoIterator<Item = &'a Label>) -> LabelMap {
    crate::label::to_map(labels)
}

/// Parses an id given in a request.
pub(crate) fn id<T: FromStr<Err = Error>>(s: &str) -> Result<T> {
    T::from_str(s)
}

#[cfg(test)]
mod tests;
