//! Text search over the names, descriptions and tags of every entity kind of the model.
//!
//! Any part of the model can offer documents by implementing [`Searchable`]; [`search`]
//! matches a query against them token by token and ranks the hits deterministically. There
//! is no stored index: documents are tokenized on demand, which is fast enough for the
//! tens of thousands of entities a model holds and never goes stale.
//!
//! Matching: the query and every field are split into lower-case alphanumeric tokens. Each
//! query token must match some field of a document, exactly or as a prefix of a field token;
//! its score is the best of:
//!
//! | field       | exact | prefix |
//! |-------------|-------|--------|
//! | name        | 8     | 4      |
//! | tag         | 6     | 3      |
//! | id          | 5     | 2      |
//! | description | 2     | 1      |
//!
//! A document's score is the sum over query tokens; hits are ordered by score (highest
//! first), then kind, then id.

mod sources;
mod tokens;

pub use tokens::tokenize;

use serde::{Deserialize, Serialize};

/// One searchable entity, borrowed from the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document<'a> {
    /// The kind of entity (`environment`, `resource`, `device`, …).
    pub kind: &'a str,
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its description (empty when it has none).
    pub description: &'a str,
    /// Its tags or labels.
    pub tags: Vec<&'a str>,
}

/// A source of documents.
pub trait Searchable {
    /// Calls `f` once per document, in any order (the ranking does not depend on it).
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>));
}

/// A search result.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hit {
    /// The kind of entity.
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Relevance: higher is better.
    pub score: u32,
}

/// The documents of `sources` matching every token of `query`, best first, at most `limit`.
/// A query without tokens matches nothing.
pub fn search(query: &str, sources: &[&dyn Searchable], limit: usize) -> Vec<Hit> {
    let terms = tokenize(query);
    if terms.is_empty() {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for s in sources {
        s.for_each_document(&mut |d| {
            if let Some(score) = score(&terms, &d) {
                hits.push(Hit {
                    kind: d.kind.to_string(),
                    id: d.id.to_string(),
                    name: d.name.to_string(),
                    score,
                });
            }
        });
    }
    hits.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.id.cmp(&b.id))
    });
    hits.truncate(limit);
    hits
}

/// The score of `doc` for `terms`, or `None` when a term matches nothing.
fn score(terms: &[String], doc: &Document<'_>) -> Option<u32> {
    let name = tokenize(doc.name);
    let id = tokenize(doc.id);
    let description = tokenize(doc.description);
    let tags: Vec<String> = doc.tags.iter().flat_map(|t| tokenize(t)).collect();
    let fields: [(&[String], u32, u32); 4] = [
        (&name, 8, 4),
        (&tags, 6, 3),
        (&id, 5, 2),
        (&description, 2, 1),
    ];
    terms.iter().try_fold(0u32, |total, term| {
        let best = fields
            .iter()
            .map(|(tokens, exact, prefix)| {
                if tokens.iter().any(|t| t == term) {
                    *exact
                } else if tokens.iter().any(|t| t.starts_with(term.as_str())) {
                    *prefix
                } else {
                    0
                }
            })
            .max()
            .unwrap_or(0);
        (best > 0).then_some(total + best)
    })
}
