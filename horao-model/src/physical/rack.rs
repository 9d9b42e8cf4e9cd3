//! Racks (cabinets): a height in rack units, a row, and a position among the row's racks.

use super::order::{self, At, OrderKey};
use super::{Physical, RackId, RowId, single};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::label::{Label, add_labels, set_label};
use crate::model::Model;
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrSet, Timestamp, Tx, dot_store_struct};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Tallest rack accepted, in rack units.
pub const MAX_RACK_UNITS: u16 = 100;

/// What an operator says about a rack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RackInfo {
    /// Display name.
    pub name: String,
    /// Usable height in rack units (1 to [`MAX_RACK_UNITS`]); unit 1 is the bottom.
    pub height_units: u16,
}

/// Where a rack is: its row and its position among the row's racks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RackPlace {
    /// The row.
    pub row: RowId,
    /// Position among the row's racks.
    pub order: OrderKey,
}

/// A rack.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rack {
    /// Name and height.
    pub info: LwwReg<RackInfo>,
    /// Row and position.
    pub place: LwwReg<RackPlace>,
    /// Labels (add-wins).
    pub labels: OrSet<Label>,
}
dot_store_struct!(Rack {
    info,
    place,
    labels
});

impl RackInfo {
    fn validate(&self) -> Result<()> {
        check_name("rack.name", &self.name)?;
        if self.height_units == 0 || self.height_units > MAX_RACK_UNITS {
            return Err(Error::InvalidField {
                field: "rack.height_units".into(),
                reason: format!("must be between 1 and {MAX_RACK_UNITS}"),
            });
        }
        Ok(())
    }
}

fn racks(d: horao_crdt::OrMap<RackId, Rack>) -> Model {
    Model::from_physical(Physical {
        racks: d,
        ..Physical::default()
    })
}

impl Physical {
    /// The racks of `row`, ordered by position (then id).
    pub fn racks_in(&self, row: &RowId) -> Vec<&RackId> {
        self.rack_siblings(row, None)
            .into_iter()
            .map(|(_, id)| id)
            .collect()
    }

    fn rack_siblings(&self, row: &RowId, except: Option<&RackId>) -> Vec<(&OrderKey, &RackId)> {
        let mut v: Vec<(&OrderKey, &RackId)> = self
            .racks
            .iter()
            .filter(|(id, _)| Some(*id) != except)
            .filter_map(|(id, r)| r.place.get().map(|p| (p, id)))
            .filter(|(p, _)| &p.row == row)
            .map(|(p, id)| (&p.order, id))
            .collect();
        v.sort();
        v
    }

    /// The datacenter holding `rack`, through its row.
    pub fn rack_datacenter(&self, rack: &RackId) -> Option<&super::DatacenterId> {
        let row = &self.racks.get(rack)?.place.get()?.row;
        Some(&self.rows.get(row)?.place.get()?.datacenter)
    }
}

impl Model {
    /// Delta creating rack `id` in `row`, placed `at` among the row's racks.
    #[allow(clippy::too_many_arguments)] // Each argument is a distinct input of the request.
    pub fn create_rack(
        &self,
        by: &Actor,
        id: &RackId,
        row: &RowId,
        info: RackInfo,
        labels: &[Label],
        at: &At<RackId>,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RackId::KIND, id.as_str(), RackId::KIND)?;
        info.validate()?;
        if self.physical.racks.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: RackId::KIND,
                id: id.to_string(),
            });
        }
        let place = self.rack_place(id, row, at, rng)?;
        let m = self.physical.racks.try_update(id.clone(), tx, |r, tx| {
            Ok::<_, Error>(Rack {
                info: r.info.write(info, ts, tx),
                place: r.place.write(place, ts, tx),
                labels: add_labels(
                    &r.labels,
                    &crate::label::normalize("rack.labels", labels.to_vec())?,
                    tx,
                )?,
            })
        })?;
        Ok(racks(m))
    }

    fn rack_place(
        &self,
        id: &RackId,
        row: &RowId,
        at: &At<RackId>,
        rng: &mut impl Rng,
    ) -> Result<RackPlace> {
        if !self.physical.rows.contains_key(row) {
            return Err(Error::not_found(RowId::KIND, row));
        }
        let order =
            order::mint(&self.physical.rack_siblings(row, Some(id)), at, rng).ok_or_else(|| {
                Error::InvalidField {
                    field: "rack.at".into(),
                    reason: "names a rack that is not in this row".into(),
                }
            })?;
        Ok(RackPlace {
            row: row.clone(),
            order,
        })
    }

    /// Delta replacing rack `id`'s name and height; refused when a mounted device would no
    /// longer fit the new height.
    pub fn update_rack(
        &self,
        by: &Actor,
        id: &RackId,
        info: RackInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RackId::KIND, id.as_str(), RackId::KIND)?;
        info.validate()?;
        let r = self
            .physical
            .racks
            .get(id)
            .ok_or_else(|| Error::not_found(RackId::KIND, id))?;
        for dev in self.physical.devices_in_rack(id) {
            if let Some((_, top)) = self.physical.device_units(dev)
                && top > info.height_units
            {
                return Err(Error::InvalidField {
                    field: "rack.height_units".into(),
                    reason: format!("device {dev} occupies unit {top}"),
                });
            }
        }
        let delta = Rack {
            info: r.info.write(info, ts, tx),
            ..Rack::default()
        };
        Ok(racks(single(id.clone(), delta, tx)))
    }

    /// Delta moving rack `id` into `row` (possibly its own), at position `at`.
    #[allow(clippy::too_many_arguments)] // Each argument is a distinct input of the request.
    pub fn move_rack(
        &self,
        by: &Actor,
        id: &RackId,
        row: &RowId,
        at: &At<RackId>,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RackId::KIND, id.as_str(), RackId::KIND)?;
        let r = self
            .physical
            .racks
            .get(id)
            .ok_or_else(|| Error::not_found(RackId::KIND, id))?;
        let old_dc = self.physical.rack_datacenter(id);
        let new_dc = self.physical.rows.get(row).and_then(|r| r.place.get());
        if let (Some(old), Some(new)) = (old_dc, new_dc)
            && *old != new.datacenter
        {
            return Err(Error::InvalidField {
                field: "rack.row".into(),
                reason: format!("row {row} is in another datacenter than rack {id}"),
            });
        }
        let place = self.rack_place(id, row, at, rng)?;
        let delta = Rack {
            place: r.place.write(place, ts, tx),
            ..Rack::default()
        };
        Ok(racks(single(id.clone(), delta, tx)))
    }

    /// Delta adding (`present`) or removing a label of rack `id`.
    pub fn label_rack(
        &self,
        by: &Actor,
        id: &RackId,
        label: &Label,
        present: bool,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RackId::KIND, id.as_str(), RackId::KIND)?;
        let r = self
            .physical
            .racks
            .get(id)
            .ok_or_else(|| Error::not_found(RackId::KIND, id))?;
        let labels = set_label(&r.labels, label, present, tx)?;
        let delta = Rack {
            labels,
            ..Rack::default()
        };
        Ok(racks(single(id.clone(), delta, tx)))
    }

    /// Delta deleting rack `id`; refused while devices are mounted in it.
    pub fn delete_rack(&self, by: &Actor, id: &RackId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(RackId::KIND, id.as_str(), RackId::KIND)?;
        if !self.physical.racks.contains_key(id) {
            return Err(Error::not_found(RackId::KIND, id));
        }
        if let Some(dev) = self.physical.devices_in_rack(id).first() {
            return Err(Error::in_use(RackId::KIND, id, format!("device {dev}")));
        }
        Ok(racks(self.physical.racks.remove(id, tx)))
    }
}
