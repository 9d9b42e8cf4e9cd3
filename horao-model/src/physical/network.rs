//! Network links: a link joins two device ports, with a speed and a network kind.
//!
//! A link never joins a port to itself and never uses a port another link already uses; when
//! two replicas concurrently link the same port, both links are kept and the conflict query
//! reports the port.

use super::{DeviceId, LinkId, Physical};
use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::model::Model;
use horao_crdt::{LwwReg, Timestamp, Tx, dot_store_struct};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The network a link belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum NetworkKind {
    /// Out-of-band management (BMC, IPMI).
    Management,
    /// Control plane.
    Control,
    /// Data plane.
    Data,
}

impl NetworkKind {
    /// Every kind, in order.
    pub const ALL: [NetworkKind; 3] = [
        NetworkKind::Management,
        NetworkKind::Control,
        NetworkKind::Data,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            NetworkKind::Management => "management",
            NetworkKind::Control => "control",
            NetworkKind::Data => "data",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// One port of one device.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PortRef {
    /// The device.
    pub device: DeviceId,
    /// The port's name on that device.
    pub port: String,
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.device, self.port)
    }
}

/// A link between two ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSpec {
    /// One end.
    pub a: PortRef,
    /// The other end.
    pub b: PortRef,
    /// Negotiated speed in Mbit/s (at most the slower port's rate).
    pub speed_mbps: u64,
    /// The network it carries.
    pub kind: NetworkKind,
}

/// A link. Links are replaced, not edited: delete and create to change one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// Its ends, speed and kind.
    pub spec: LwwReg<LinkSpec>,
}
dot_store_struct!(Link { spec });

fn links(d: horao_crdt::OrMap<LinkId, Link>) -> Model {
    Model::from_physical(Physical {
        links: d,
        ..Physical::default()
    })
}

impl Physical {
    /// The links attached to any port of `dev`, by id.
    pub fn links_of<'a>(&'a self, dev: &'a DeviceId) -> Vec<&'a LinkId> {
        let mut v: Vec<&LinkId> = self
            .index()
            .device_ports(dev)
            .flat_map(|(_, ls)| ls.iter())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The links attached to `port`, by id.
    pub fn links_at(&self, port: &PortRef) -> Vec<&LinkId> {
        self.index().links_at(port).collect()
    }

    fn check_port(&self, end: &'static str, port: &PortRef) -> Result<u64> {
        let hw = self
            .devices
            .get(&port.device)
            .and_then(|d| d.hardware.get())
            .ok_or_else(|| Error::not_found(DeviceId::KIND, &port.device))?;
        let p = hw.port(&port.port).ok_or_else(|| Error::InvalidField {
            field: format!("link.{end}"),
            reason: format!("device {} has no port {}", port.device, port.port),
        })?;
        if let Some(other) = self.index().links_at(port).next() {
            return Err(Error::in_use("port", port, format!("link {other}")));
        }
        Ok(p.speed_mbps)
    }
}

impl Model {
    /// Delta creating link `id`.
    pub fn create_link(
        &self,
        by: &Actor,
        id: &LinkId,
        spec: LinkSpec,
        ts: Timestamp,
        tx: &mut Tx,
    ) -> Result<Model> {
        by.require_operator(LinkId::KIND, id.as_str(), LinkId::KIND)?;
        if self.physical.links.contains_key(id) {
            return Err(Error::AlreadyExists {
                kind: LinkId::KIND,
                id: id.to_string(),
            });
        }
        if spec.a == spec.b {
            return Err(Error::InvalidField {
                field: "link.b".into(),
                reason: format!("joins port {} to itself", spec.a),
            });
        }
        let speed_a = self.physical.check_port("a", &spec.a)?;
        let speed_b = self.physical.check_port("b", &spec.b)?;
        if spec.speed_mbps == 0 || spec.speed_mbps > speed_a.min(speed_b) {
            return Err(Error::InvalidField {
                field: "link.speed_mbps".into(),
                reason: format!(
                    "must be between 1 and the slower port's {} Mbit/s",
                    speed_a.min(speed_b)
                ),
            });
        }
        let delta = self.physical.links.update(id.clone(), tx, |l, tx| Link {
            spec: l.spec.write(spec, ts, tx),
        });
        Ok(links(delta))
    }

    /// Delta deleting link `id`.
    pub fn delete_link(&self, by: &Actor, id: &LinkId, tx: &mut Tx) -> Result<Model> {
        by.require_operator(LinkId::KIND, id.as_str(), LinkId::KIND)?;
        if !self.physical.links.contains_key(id) {
            return Err(Error::not_found(LinkId::KIND, id));
        }
        Ok(links(self.physical.links.remove(id, tx)))
    }
}
