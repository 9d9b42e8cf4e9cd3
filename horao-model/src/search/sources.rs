//! The model's searchable parts: every entity kind of every layer, and the root model
//! holding them all.

use super::{Document, Searchable};
use crate::Label;
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
    /// Datacenters (site as description), rows, racks, devices (vendor model as
    /// description) and links (the devices they join as tags); labels as tags.
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (id, d) in self.datacenters.iter() {
            if let Some(info) = d.info.get() {
                f(Document {
                    kind: "datacenter",
                    id: id.as_str(),
                    name: &info.name,
                    description: &info.site,
                    tags: d.labels.iter().map(Label::as_str).collect(),
                });
            }
        }
        for (id, r) in self.rows.iter() {
            if let Some(info) = r.info.get() {
                f(Document {
                    kind: "row",
                    id: id.as_str(),
                    name: &info.name,
                    description: "",
                    tags: Vec::new(),
                });
            }
        }
        for (id, r) in self.racks.iter() {
            if let Some(info) = r.info.get() {
                f(Document {
                    kind: "rack",
                    id: id.as_str(),
                    name: &info.name,
                    description: "",
                    tags: r.labels.iter().map(Label::as_str).collect(),
                });
            }
        }
        for (id, d) in self.devices.iter() {
            if let Some(info) = d.info.get() {
                f(Document {
                    kind: "device",
                    id: id.as_str(),
                    name: &info.name,
                    description: &info.model,
                    tags: d.labels.iter().map(Label::as_str).collect(),
                });
            }
        }
        for (id, l) in self.links.iter() {
            if let Some(spec) = l.spec.get() {
                f(Document {
                    kind: "link",
                    id: id.as_str(),
                    name: id.as_str(),
                    description: spec.kind.name(),
                    tags: vec![spec.a.device.as_str(), spec.b.device.as_str()],
                });
            }
        }
    }
}

impl Searchable for crate::logical::Logical {
    /// Infrastructures, tenants (owner as description) and profiles.
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (id, i) in self.infrastructures.iter() {
            if let Some(info) = i.info.get() {
                f(Document {
                    kind: "infrastructure",
                    id: id.as_str(),
                    name: &info.name,
                    description: "",
                    tags: i.datacenters.keys().map(|d| d.as_str()).collect(),
                });
            }
        }
        for (id, t) in self.tenants.iter() {
            if let Some(info) = t.info.get() {
                f(Document {
                    kind: "tenant",
                    id: id.as_str(),
                    name: &info.name,
                    description: &info.owner,
                    tags: t.delegates.iter().map(String::as_str).collect(),
                });
            }
        }
        for (id, p) in self.profiles.iter() {
            if let Some(spec) = p.spec.get() {
                f(Document {
                    kind: "profile",
                    id: id.as_str(),
                    name: &spec.name,
                    description: "",
                    tags: Vec::new(),
                });
            }
        }
    }
}

impl Searchable for crate::claims::Claims {
    /// Reservations (tenant, infrastructure and profile as tags) and maintenance windows
    /// (reason as description, devices as tags).
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (id, s) in self.reservation_specs() {
            f(Document {
                kind: "reservation",
                id: id.as_str(),
                name: id.as_str(),
                description: "",
                tags: vec![
                    s.tenant.as_str(),
                    s.infrastructure.as_str(),
                    s.profile.as_str(),
                ],
            });
        }
        for (id, s) in self.maintenance_specs() {
            f(Document {
                kind: "maintenance",
                id: id.as_str(),
                name: id.as_str(),
                description: &s.reason,
                tags: s.devices.iter().map(|d| d.as_str()).collect(),
            });
        }
    }
}

impl Searchable for crate::storage::Storage {
    /// Machines and volumes (labels as tags), images and instances.
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        for (id, m) in self.machines() {
            f(Document {
                kind: "machine",
                id: id.as_str(),
                name: id.as_str(),
                description: "",
                tags: m.labels().iter().map(Label::as_str).collect(),
            });
        }
        for (id, v) in self.volumes() {
            if let Some(spec) = v.spec() {
                f(Document {
                    kind: "volume",
                    id: id.as_str(),
                    name: spec.name.as_str(),
                    description: "",
                    tags: spec.labels.iter().map(Label::as_str).collect(),
                });
            }
        }
        for (id, i) in self.images() {
            if let Some(spec) = i.spec() {
                f(Document {
                    kind: "image",
                    id: id.as_str(),
                    name: &spec.name,
                    description: "",
                    tags: Vec::new(),
                });
            }
        }
        for (id, i) in self.instances() {
            if let Some(spec) = i.spec() {
                f(Document {
                    kind: "instance",
                    id: id.as_str(),
                    name: &spec.name,
                    description: "",
                    tags: Vec::new(),
                });
            }
        }
    }
}

impl Searchable for crate::model::Model {
    /// Every entity kind of the model.
    fn for_each_document(&self, f: &mut dyn FnMut(Document<'_>)) {
        self.physical.for_each_document(f);
        self.logical.for_each_document(f);
        self.claims.for_each_document(f);
        self.storage.for_each_document(f);
        self.environments.for_each_document(f);
    }
}
