//! The physical inventory's kinds: datacenters, rows, racks, devices and links.

use super::generic::{Create, Delete, Entity, Update, Write, key};
use crate::error::ApiResult;
use horao_model::Error as ModelError;
use horao_model::api::physical::{
    self as api, CreateDatacenter, CreateDevice, CreateLink, CreateRack, CreateRow, DatacenterView,
    DeviceView, LinkView, MountView, RackView, RowView, UpdateDatacenter, UpdateDevice, UpdateRack,
};
use horao_model::ids::{DatacenterId, DeviceId, LinkId, RackId, RowId};

/// Implements [`Entity`] for a kind whose view and listing are the model's.
macro_rules! entity {
    ($ty:ident, $path:literal, $kind:literal, $id:ty, $view:ty, $list:path) => {
        #[doc = concat!("The `", $path, "` collection.")]
        #[derive(Debug)]
        pub struct $ty;

        impl Entity for $ty {
            const PATH: &'static str = $path;
            const KIND: &'static str = $kind;
            type Id = $id;
            type View = $view;
            fn view(m: &horao_model::model::Model, id: &$id) -> Option<$view> {
                <$view>::of(m, id)
            }
            fn list(
                m: &horao_model::model::Model,
                q: &horao_model::api::ListQuery,
            ) -> horao_model::Result<horao_model::api::Page<$view>> {
                $list(m, q)
            }
        }
    };
}
pub(crate) use entity;

/// Implements [`Delete`] with the model's delete mutator and a footprint of the id.
macro_rules! delete_with {
    ($ty:ident, $mutator:ident) => {
        delete_with!($ty, $mutator, []);
    };
    ($ty:ident, $mutator:ident, [$($extra:expr),*]) => {
        impl Delete for $ty {
            fn delete(id: Self::Id) -> Write {
                let mut keys = vec![key(Self::KIND, &id)];
                keys.extend([$($extra.to_string()),*]);
                Write::new(keys, move |m, by, _, _, _, tx| m.$mutator(by, &id, tx))
            }
        }
    };
}
pub(crate) use delete_with;

entity!(
    Datacenters,
    "datacenters",
    "datacenter",
    DatacenterId,
    DatacenterView,
    api::list_datacenters
);
entity!(Rows, "rows", "row", RowId, RowView, api::list_rows);
entity!(Racks, "racks", "rack", RackId, RackView, api::list_racks);
entity!(
    Devices,
    "devices",
    "device",
    DeviceId,
    DeviceView,
    api::list_devices
);
entity!(Links, "links", "link", LinkId, LinkView, api::list_links);

delete_with!(Datacenters, delete_datacenter);
delete_with!(Rows, delete_row);
delete_with!(Racks, delete_rack);
delete_with!(Devices, delete_device);
delete_with!(Links, delete_link);

impl Create for Datacenters {
    type Request = CreateDatacenter;
    fn create(id: DatacenterId, req: CreateDatacenter) -> ApiResult<Vec<Write>> {
        let (info, labels) = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id)],
            move |m, by, ts, _, _, tx| m.create_datacenter(by, &id, info, &labels, ts, tx),
        )])
    }
}

impl Update for Datacenters {
    type Request = UpdateDatacenter;
    fn update(id: DatacenterId, req: UpdateDatacenter) -> ApiResult<Vec<Write>> {
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id)],
            move |m, by, ts, _, _, tx| {
                let old = m
                    .physical
                    .datacenters
                    .get(&id)
                    .and_then(|d| d.info.get())
                    .ok_or_else(|| ModelError::not_found(Self::KIND, &id))?;
                m.update_datacenter(by, &id, req.apply(old), ts, tx)
            },
        )])
    }
}

impl Create for Rows {
    type Request = CreateRow;
    fn create(id: RowId, req: CreateRow) -> ApiResult<Vec<Write>> {
        let (dc, info, at) = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), key(Datacenters::KIND, &dc)],
            move |m, by, ts, _, rng, tx| {
                let mut rng = rng;
                m.create_row(by, &id, &dc, info, &at, ts, &mut rng, tx)
            },
        )])
    }
}

impl Create for Racks {
    type Request = CreateRack;
    fn create(id: RackId, req: CreateRack) -> ApiResult<Vec<Write>> {
        let (row, info, labels, at) = req.to_model()?;
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id), key(Rows::KIND, &row)],
            move |m, by, ts, _, rng, tx| {
                let mut rng = rng;
                m.create_rack(by, &id, &row, info, &labels, &at, ts, &mut rng, tx)
            },
        )])
    }
}

impl Update for Racks {
    type Request = UpdateRack;
    fn update(id: RackId, req: UpdateRack) -> ApiResult<Vec<Write>> {
        Ok(vec![Write::new(
            vec![key(Self::KIND, &id)],
            move |m, by, ts, _, _, tx| {
                let old = m
                    .physical
                    .racks
                    .get(&id)
                    .and_then(|r| r.info.get())
                    .ok_or_else(|| ModelError::not_found(Self::KIND, &id))?;
                m.update_rack(by, &id, req.apply(old), ts, tx)
            },
        )])
    }
}

fn mount_key(mount: &MountView) -> String {
    match mount {
        MountView::Rack { rack, .. } => key(Racks::KIND, rack),
        MountView::Chassis { chassis, .. } => key(Devices::KIND, chassis),
    }
}

impl Create for Devices {
    type Request = CreateDevice;
    fn create(id: DeviceId, req: CreateDevice) -> ApiResult<Vec<Write>> {
        let keys = vec![key(Self::KIND, &id), mount_key(&req.mount)];
        let new = req.to_model()?;
        Ok(vec![Write::new(keys, move |m, by, ts, _, rng, tx| {
            let mut rng = rng;
            m.create_device(by, &id, new, ts, &mut rng, tx)
        })])
    }
}

impl Update for Devices {
    type Request = UpdateDevice;
    /// Name, model and height in one change, then the components, then the mount.
    fn update(id: DeviceId, req: UpdateDevice) -> ApiResult<Vec<Write>> {
        let mut ws = Vec::new();
        let own = key(Self::KIND, &id);
        let place = req.place()?;
        if req.name.is_some() || req.model.is_some() || req.height_units.is_some() {
            let (id, req) = (id.clone(), req.clone());
            ws.push(Write::new(
                vec![own.clone()],
                move |m, by, ts, _, rng, tx| {
                    let old = m
                        .physical
                        .devices
                        .get(&id)
                        .and_then(|d| d.info.get())
                        .ok_or_else(|| ModelError::not_found(Self::KIND, &id))?;
                    let mut rng = rng;
                    m.update_device(by, &id, req.info(old), ts, &mut rng, tx)
                },
            ));
        }
        if let Some(h) = &req.hardware {
            let (id, hw) = (id.clone(), h.to_model());
            ws.push(Write::new(vec![own.clone()], move |m, by, ts, _, _, tx| {
                m.set_hardware(by, &id, hw, ts, tx)
            }));
        }
        if let (Some(spec), Some(mount)) = (place, &req.mount) {
            ws.push(Write::new(
                vec![own, mount_key(mount)],
                move |m, by, ts, _, rng, tx| {
                    let mut rng = rng;
                    m.move_device(by, &id, &spec, ts, &mut rng, tx)
                },
            ));
        }
        Ok(ws)
    }
}

impl Create for Links {
    type Request = CreateLink;
    fn create(id: LinkId, req: CreateLink) -> ApiResult<Vec<Write>> {
        let keys = vec![
            key(Self::KIND, &id),
            key(Devices::KIND, &req.a.device),
            key(Devices::KIND, &req.b.device),
        ];
        let spec = req.to_model();
        Ok(vec![Write::new(keys, move |m, by, ts, _, _, tx| {
            m.create_link(by, &id, spec, ts, tx)
        })])
    }
}
