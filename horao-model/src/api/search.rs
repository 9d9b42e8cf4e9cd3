//! Search over every entity kind: `GET /api/v1/search?q=`.

use crate::model::Model;
use crate::search::{Hit, Searchable, search};

/// Longest answer.
pub const MAX_HITS: usize = 1000;

/// The entities of `m` matching every token of `query`, best first, at most `limit` (capped
/// at [`MAX_HITS`]). See [`crate::search`] for the ranking.
pub fn search_model(m: &Model, query: &str, limit: usize) -> Vec<Hit> {
    search(query, &[m as &dyn Searchable], limit.min(MAX_HITS))
}
