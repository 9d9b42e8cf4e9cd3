//! Images: immutable snapshots of volumes (or of external data), with replicas in several
//! storage pools.

use super::Storage;
use super::types::{ImageOrigin, ImageReplica, ImageSpec, Source};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::ids::ImageId;
use crate::model::Model;
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrSet, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// An image. Its spec is written once, at creation; there is no update.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub(crate) spec: LwwReg<ImageSpec>,
    pub(crate) replicas: OrSet<ImageReplica>,
}

dot_store_struct!(Image { spec, replicas });

impl Image {
    /// Name, size and origin.
    pub fn spec(&self) -> Option<&ImageSpec> {
        self.spec.get()
    }

    /// The copies, in (pool, volume) order.
    pub fn replicas(&self) -> impl Iterator<Item = &ImageReplica> {
        self.replicas.iter()
    }
}

impl Storage {
    /// The image `id`, if it exists.
    pub fn image(&self, id: &ImageId) -> Option<&Image> {
        self.images.get(id).filter(|i| i.spec().is_some())
    }

    pub(crate) fn existing_image(&self, id: &ImageId) -> Result<&Image> {
        self.image(id).ok_or_else(|| Error::NotFound {
            kind: "image",
            id: id.to_string(),
        })
    }
}

impl Model {
    /// Creates an image from a volume or from external storage. An image taken from a volume
    /// gets that volume's machine as its home (the first, when concurrent placements gave it
    /// several; none while it is not placed), whatever `spec.home` says.
    pub fn create_image(
        &self,
        by: &Actor,
        id: &ImageId,
        mut spec: ImageSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("image", id.as_str(), "image.spec")?;
        if self.storage.image(id).is_some() {
            return Err(Error::AlreadyExists {
                kind: "image",
                id: id.to_string(),
            });
        }
        check_name("image.name", &spec.name)?;
        if spec.size_bytes == 0 {
            return Err(Error::invalid("image.size_bytes", "must be at least 1"));
        }
        spec.home = None;
        match &spec.origin {
            ImageOrigin::Volume(v) => {
                let volume = self.storage.existing_volume(v)?;
                spec.home = volume.assigned().into_iter().next().cloned();
            }
            ImageOrigin::Url(u) if u.is_empty() || u.chars().any(char::is_whitespace) => {
                return Err(Error::invalid(
                    "image.origin",
                    "the URL is empty or has spaces",
                ));
            }
            ImageOrigin::Url(_) => {}
        }
        Ok(Storage::with_images(self.storage.images.update(
            id.clone(),
            tx,
            |i, tx| Image {
                spec: i.spec.write(spec, ts, tx),
                ..Image::default()
            },
        )))
    }

    /// Records a copy of the image in a pool, held by an existing volume.
    pub fn add_image_replica(
        &self,
        by: &Actor,
        id: &ImageId,
        replica: ImageReplica,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("image", id.as_str(), "image.replicas")?;
        self.storage.existing_image(id)?;
        self.storage.existing_volume(&replica.volume)?;
        Ok(Storage::with_images(self.storage.images.update(
            id.clone(),
            tx,
            |i, tx| Image {
                replicas: i.replicas.add(replica, tx),
                ..Image::default()
            },
        )))
    }

    /// Forgets a copy of the image.
    pub fn remove_image_replica(
        &self,
        by: &Actor,
        id: &ImageId,
        replica: &ImageReplica,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator("image", id.as_str(), "image.replicas")?;
        let image = self.storage.existing_image(id)?;
        if !image.replicas.contains(replica) {
            return Err(Error::NotFound {
                kind: "image replica",
                id: format!("{id}/{}/{}", replica.pool, replica.volume),
            });
        }
        Ok(Storage::with_images(self.storage.images.update(
            id.clone(),
            tx,
            |i, tx| Image {
                replicas: i.replicas.remove(replica, tx),
                ..Image::default()
            },
        )))
    }

    /// Deletes an image no volume is still being populated from.
    pub fn delete_image(&self, by: &Actor, id: &ImageId, tx: &mut Tx) -> Result<Model> {
        by.require_operator("image", id.as_str(), "image")?;
        self.storage.existing_image(id)?;
        let using = Source::Image(id.clone());
        if let Some((vid, _)) = self
            .storage
            .volumes
            .iter()
            .find(|(_, v)| v.pending_source() == Some(&using))
        {
            return Err(Error::in_use("image", id, format!("volume {vid}")));
        }
        Ok(Storage::with_images(self.storage.images.remove(id, tx)))
    }
}
