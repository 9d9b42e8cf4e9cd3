//! The model's searchable parts: environments and resources (and, through the root model,
//! devices).

use super::{Document, Searchable};
use crate::environments::Environments;

impl Searchable for Environments {
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (id, e) in self.environments() {
            if let Some(d) = e.described() {
                f(Document {
                    kind: "environment",
                    id: id.as_str(),
                    name: &d.name,
                    description: &d.description,
                    tags: e.tags().map(|t| t.as_str()).collect(),
                });
            }
        }
        for (id, r) in self.resources() {
            if let Some(d) = r.described() {
                f(Document {
                    kind: "resource",
                    id: id.as_str(),
                    name: &d.name,
                    description: &d.description,
                    tags: r.tags().map(|t| t.as_str()).collect(),
                });
            }
        }
    }
}
