//! Resource profiles: coarse descriptions of wanted resources ("gpu-node: 64 cores,
//! 512 GiB, 4 accelerators"), reserved in counts by claims.

use super::capacity::Capacity;
use super::{Logical, ProfileId};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::physical::single;
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrMap, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};

/// What one unit of a profile needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSpec {
    /// Display name.
    pub name: String,
    /// The demand of one unit, per dimension; at least one dimension is positive.
    pub demand: Capacity,
}

/// A resource profile.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Name and demand.
    pub spec: LwwReg<ProfileSpec>,
}
dot_store_struct!(Profile { spec });

impl ProfileSpec {
    fn validate(&self) -> Result<()> {
        check_name("profile.name", &self.name)?;
        if self.demand.is_zero() {
            return Err(Error::InvalidField {
                field: "profile.demand".into(),
                reason: "must ask for something in at least one dimension".into(),
            });
        }
        Ok(())
    }
}

fn profiles(p: OrMap<ProfileId, Profile>) -> Model {
    Model::from_logical(Logical {
        profiles: p,
        ..Logical::default()
    })
}

impl Model {
    /// Delta creating profile `id`.
    pub fn create_profile(
        &self,
        by: &Actor,
        id: &ProfileId,
        spec: ProfileSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(ProfileId::KIND, id.as_str(), ProfileId::KIND)?;
        spec.validate()?;
        if self.logical.profiles.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: ProfileId::KIND,
                id: id.to_string(),
            });
        }
        Ok(profiles(self.logical.profiles.update(
            id.clone(),
            tx,
            |p, tx| Profile {
                spec: p.spec.write(spec, ts, tx),
            },
        )))
    }

    /// Delta replacing profile `id`'s name and demand. Existing reservations of the profile
    /// then count with the new demand; a growth that no longer fits shows as a conflict.
    pub fn update_profile(
        &self,
        by: &Actor,
        id: &ProfileId,
        spec: ProfileSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(ProfileId::KIND, id.as_str(), ProfileId::KIND)?;
        spec.validate()?;
        let p = self
            .logical
            .profiles
            .get(id)
            .ok_or_else(|| Error::not_found(ProfileId::KIND, id))?;
        let delta = Profile {
            spec: p.spec.write(spec, ts, tx),
        };
        Ok(profiles(single(id.clone(), delta, tx)))
    }

    /// Delta deleting profile `id`; refused while a reservation uses it.
    pub fn delete_profile(&self, by: &Actor, id: &ProfileId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(ProfileId::KIND, id.as_str(), ProfileId::KIND)?;
        if !self.logical.profiles.contains_key(id) {
            return Err(Error::not_found(ProfileId::KIND, id));
        }
        if let Some((claim, _)) = self
            .claims
            .reservation_specs()
            .find(|(_, r)| &r.profile == id)
        {
            return Err(Error::in_use(
                ProfileId::KIND,
                id,
                format!("reservation {claim}"),
            ));
        }
        Ok(profiles(self.logical.profiles.remove(id, tx)))
    }
}
