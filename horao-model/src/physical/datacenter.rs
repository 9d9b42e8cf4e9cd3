//! Datacenters and their ordered rows.

use super::order::{self, At, OrderKey};
use super::{DatacenterId, Physical, RowId, single};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::label::{Label, add_labels, set_label};
use crate::model::Model;
use crate::validate::check_name;
use horao_crdt::{LwwReg, OrSet, Timestamp, Tx, dot_store_struct};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// What an operator says about a datacenter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatacenterInfo {
    /// Display name.
    pub name: String,
    /// Site or address, free text (may be empty).
    pub site: String,
}

/// A datacenter: its description and labels. Rows point at it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Datacenter {
    /// Name and site.
    pub info: LwwReg<DatacenterInfo>,
    /// Labels (add-wins).
    pub labels: OrSet<Label>,
}
dot_store_struct!(Datacenter { info, labels });

/// What an operator says about a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowInfo {
    /// Display name.
    pub name: String,
}

/// Where a row is: its datacenter (fixed at creation) and its position among the rows there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowPlace {
    /// The datacenter.
    pub datacenter: DatacenterId,
    /// Position among the datacenter's rows.
    pub order: OrderKey,
}

/// A row of racks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Name.
    pub info: LwwReg<RowInfo>,
    /// Datacenter and position.
    pub place: LwwReg<RowPlace>,
}
dot_store_struct!(Row { info, place });

impl DatacenterInfo {
    fn validate(&self) -> Result<()> {
        check_name("datacenter.name", &self.name)?;
        if !self.site.is_empty() {
            check_name("datacenter.site", &self.site)?;
        }
        Ok(())
    }
}

fn datacenters(d: horao_crdt::OrMap<DatacenterId, Datacenter>) -> Model {
    Model::from_physical(Physical {
        datacenters: d,
        ..Physical::default()
    })
}

fn rows(d: horao_crdt::OrMap<RowId, Row>) -> Model {
    Model::from_physical(Physical {
        rows: d,
        ..Physical::default()
    })
}

impl Physical {
    /// The rows of `dc`, ordered by position (then id).
    pub fn rows_in(&self, dc: &DatacenterId) -> Vec<&RowId> {
        let mut v: Vec<(&OrderKey, &RowId)> = self
            .rows
            .iter()
            .filter_map(|(id, r)| r.place.get().map(|p| (p, id)))
            .filter(|(p, _)| &p.datacenter == dc)
            .map(|(p, id)| (&p.order, id))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    }

    fn row_siblings(&self, dc: &DatacenterId, except: &RowId) -> Vec<(&OrderKey, &RowId)> {
        let mut v: Vec<(&OrderKey, &RowId)> = self
            .rows
            .iter()
            .filter(|(id, _)| *id != except)
            .filter_map(|(id, r)| r.place.get().map(|p| (p, id)))
            .filter(|(p, _)| &p.datacenter == dc)
            .map(|(p, id)| (&p.order, id))
            .collect();
        v.sort();
        v
    }
}

impl Model {
    /// Delta creating datacenter `id`.
    pub fn create_datacenter(
        &self,
        by: &Actor,
        id: &DatacenterId,
        info: DatacenterInfo,
        labels: &[Label],
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DatacenterId::KIND, id.as_str(), DatacenterId::KIND)?;
        info.validate()?;
        if self.physical.datacenters.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: DatacenterId::KIND,
                id: id.to_string(),
            });
        }
        let m = self
            .physical
            .datacenters
            .try_update(id.clone(), tx, |d, tx| {
                Ok::<_, Error>(Datacenter {
                    info: d.info.write(info, ts, tx),
                    labels: add_labels(
                        &d.labels,
                        &crate::label::normalize("datacenter.labels", labels.to_vec())?,
                        tx,
                    )?,
                })
            })?;
        Ok(datacenters(m))
    }

    /// Delta replacing datacenter `id`'s name and site.
    pub fn update_datacenter(
        &self,
        by: &Actor,
        id: &DatacenterId,
        info: DatacenterInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DatacenterId::KIND, id.as_str(), DatacenterId::KIND)?;
        info.validate()?;
        let d = self
            .physical
            .datacenters
            .get(id)
            .ok_or_else(|| Error::not_found(DatacenterId::KIND, id))?;
        let delta = Datacenter {
            info: d.info.write(info, ts, tx),
            ..Datacenter::default()
        };
        Ok(datacenters(single(id.clone(), delta, tx)))
    }

    /// Delta adding (`present`) or removing a label of datacenter `id`.
    pub fn label_datacenter(
        &self,
        by: &Actor,
        id: &DatacenterId,
        label: &Label,
        present: bool,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(DatacenterId::KIND, id.as_str(), DatacenterId::KIND)?;
        let d = self
            .physical
            .datacenters
            .get(id)
            .ok_or_else(|| Error::not_found(DatacenterId::KIND, id))?;
        let labels = set_label(&d.labels, label, present, tx)?;
        let delta = Datacenter {
            labels,
            ..Datacenter::default()
        };
        Ok(datacenters(single(id.clone(), delta, tx)))
    }

    /// Delta deleting datacenter `id`; refused while rows remain in it.
    pub fn delete_datacenter(&self, by: &Actor, id: &DatacenterId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(DatacenterId::KIND, id.as_str(), DatacenterId::KIND)?;
        if !self.physical.datacenters.contains_key(id) {
            return Err(Error::not_found(DatacenterId::KIND, id));
        }
        if let Some(row) = self.physical.rows_in(id).first() {
            return Err(Error::in_use(DatacenterId::KIND, id, format!("row {row}")));
        }
        Ok(datacenters(self.physical.datacenters.remove(id, tx)))
    }

    /// Delta creating row `id` in datacenter `dc`, placed `at` among its rows.
    #[allow(clippy::too_many_arguments)] // Each argument is a distinct input of the request.
    pub fn create_row(
        &self,
        by: &Actor,
        id: &RowId,
        dc: &DatacenterId,
        info: RowInfo,
        at: &At<RowId>,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RowId::KIND, id.as_str(), RowId::KIND)?;
        check_name("row.name", &info.name)?;
        if self.physical.rows.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: RowId::KIND,
                id: id.to_string(),
            });
        }
        if !self.physical.datacenters.contains_key(dc) {
            return Err(Error::not_found(DatacenterId::KIND, dc));
        }
        let order = self.row_order(dc, id, at, rng)?;
        let place = RowPlace {
            datacenter: dc.clone(),
            order,
        };
        Ok(rows(self.physical.rows.update(id.clone(), tx, |r, tx| {
            Row {
                info: r.info.write(info, ts, tx),
                place: r.place.write(place, ts, tx),
            }
        })))
    }

    fn row_order(
        &self,
        dc: &DatacenterId,
        id: &RowId,
        at: &At<RowId>,
        rng: &mut impl Rng,
    ) -> Result<OrderKey> {
        order::mint(&self.physical.row_siblings(dc, id), at, rng).ok_or_else(|| {
            Error::InvalidField {
                field: "row.at".into(),
                reason: "names a row that is not in this datacenter".into(),
            }
        })
    }

    /// Delta renaming row `id`.
    pub fn update_row(
        &self,
        by: &Actor,
        id: &RowId,
        info: RowInfo,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RowId::KIND, id.as_str(), RowId::KIND)?;
        check_name("row.name", &info.name)?;
        let r = self
            .physical
            .rows
            .get(id)
            .ok_or_else(|| Error::not_found(RowId::KIND, id))?;
        let delta = Row {
            info: r.info.write(info, ts, tx),
            ..Row::default()
        };
        Ok(rows(single(id.clone(), delta, tx)))
    }

    /// Delta moving row `id` to position `at` among its datacenter's rows.
    pub fn move_row(
        &self,
        by: &Actor,
        id: &RowId,
        at: &At<RowId>,
        ts: Timestamp,
        rng: &mut impl Rng,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(RowId::KIND, id.as_str(), RowId::KIND)?;
        let r = self
            .physical
            .rows
            .get(id)
            .ok_or_else(|| Error::not_found(RowId::KIND, id))?;
        let dc = r
            .place
            .get()
            .map(|p| p.datacenter.clone())
            .ok_or_else(|| Error::not_found(RowId::KIND, id))?;
        let order = self.row_order(&dc, id, at, rng)?;
        let delta = Row {
            place: r.place.write(
                RowPlace {
                    datacenter: dc,
                    order,
                },
                ts,
                tx,
            ),
            ..Row::default()
        };
        Ok(rows(single(id.clone(), delta, tx)))
    }

    /// Delta deleting row `id`; refused while racks remain in it.
    pub fn delete_row(&self, by: &Actor, id: &RowId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(RowId::KIND, id.as_str(), RowId::KIND)?;
        if !self.physical.rows.contains_key(id) {
            return Err(Error::not_found(RowId::KIND, id));
        }
        if let Some(rack) = self.physical.racks_in(id).first() {
            return Err(Error::in_use(RowId::KIND, id, format!("rack {rack}")));
        }
        Ok(rows(self.physical.rows.remove(id, tx)))
    }
}
