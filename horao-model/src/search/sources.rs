//! The model's searchable parts: environments, resources and devices, and the root model
//! holding them all.

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

impl Searchable for crate::physical::Physical {
    /// Devices: name, vendor model as the description, labels as tags.
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (id, d) in self.devices.iter() {
            if let Some(info) = d.info.get() {
                f(Document {
                    kind: "device",
                    id: id.as_str(),
                    name: &info.name,
                    description: &info.model,
                    tags: d.labels.iter().map(String::as_str).collect(),
                });
            }
        }
    }
}

impl Searchable for crate::model::Model {
    /// Devices, environments and resources.
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        self.physical.for_each_document(f);
        self.environments.for_each_document(f);
    }
}
