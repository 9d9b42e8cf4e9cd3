//! Hardware components of a device: CPUs, memory, disks, accelerators and NICs with ports.
//!
//! A device's components form one record written together by whoever maintains the
//! inventory, so they live in a single last-writer-wins register (one allocation per device)
//! instead of one register per field.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Largest count of any one kind of component on a device (a sanity bound on input).
pub const MAX_COMPONENTS: usize = 1024;

/// The storage class of a disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DiskClass {
    /// Spinning disk.
    Hdd,
    /// SATA/SAS solid state disk.
    Ssd,
    /// NVMe solid state disk.
    Nvme,
}

impl DiskClass {
    /// Every class, in order.
    pub const ALL: [DiskClass; 3] = [DiskClass::Hdd, DiskClass::Ssd, DiskClass::Nvme];

    /// Lower-case name (`hdd`, `ssd`, `nvme`).
    pub fn name(self) -> &'static str {
        match self {
            DiskClass::Hdd => "hdd",
            DiskClass::Ssd => "ssd",
            DiskClass::Nvme => "nvme",
        }
    }

    /// Parses a lower-case name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// A processor socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cpu {
    /// Physical cores.
    pub cores: u32,
    /// Base clock in MHz.
    pub clock_mhz: u32,
}

/// A disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    /// Size in GiB.
    pub size_gib: u64,
    /// Storage class.
    pub class: DiskClass,
}

/// An accelerator (GPU, FPGA, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accelerator {
    /// Model name, for example `h100`.
    pub model: String,
    /// On-board memory in MiB.
    pub memory_mib: u64,
}

/// A network port.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// Name, unique within the device (for example `eth0` or `swp12`).
    pub name: String,
    /// Line rate in Mbit/s.
    pub speed_mbps: u64,
}

/// A network interface card (or a switch's port block) holding ports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// Name of the card, for example `mlx0`.
    pub name: String,
    /// Its ports.
    pub ports: Vec<Port>,
}

/// Every component of one device.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardware {
    /// Processor sockets.
    pub cpus: Vec<Cpu>,
    /// Memory in MiB.
    pub ram_mib: u64,
    /// Disks.
    pub disks: Vec<Disk>,
    /// Accelerators.
    pub accelerators: Vec<Accelerator>,
    /// NICs and their ports.
    pub nics: Vec<Nic>,
}

fn hw_invalid(field: &str, reason: impl Into<String>) -> Error {
    Error::invalid(format!("device.hardware.{field}"), reason)
}

fn check_len<T>(field: &str, v: &[T]) -> Result<()> {
    if v.len() > MAX_COMPONENTS {
        return Err(hw_invalid(
            field,
            format!("{} entries, at most {MAX_COMPONENTS} allowed", v.len()),
        ));
    }
    Ok(())
}

impl Hardware {
    /// Checks every component: counts and sizes are positive and port names are unique
    /// within the device.
    pub fn validate(&self) -> Result<()> {
        check_len("cpus", &self.cpus)?;
        check_len("disks", &self.disks)?;
        check_len("accelerators", &self.accelerators)?;
        check_len("nics", &self.nics)?;
        for (i, c) in self.cpus.iter().enumerate() {
            if c.cores == 0 {
                return Err(hw_invalid(&format!("cpus[{i}].cores"), "must be positive"));
            }
            if c.clock_mhz == 0 {
                return Err(hw_invalid(
                    &format!("cpus[{i}].clock_mhz"),
                    "must be positive",
                ));
            }
        }
        for (i, d) in self.disks.iter().enumerate() {
            if d.size_gib == 0 {
                return Err(hw_invalid(
                    &format!("disks[{i}].size_gib"),
                    "must be positive",
                ));
            }
        }
        for (i, a) in self.accelerators.iter().enumerate() {
            crate::validate::check_name(
                &format!("device.hardware.accelerators[{i}].model"),
                &a.model,
            )?;
        }
        let mut seen = BTreeSet::new();
        for (i, n) in self.nics.iter().enumerate() {
            crate::validate::check_name(&format!("device.hardware.nics[{i}].name"), &n.name)?;
            check_len(&format!("nics[{i}].ports"), &n.ports)?;
            for (j, p) in n.ports.iter().enumerate() {
                let field = format!("nics[{i}].ports[{j}]");
                crate::validate::check_name(&format!("device.hardware.{field}.name"), &p.name)?;
                if p.speed_mbps == 0 {
                    return Err(hw_invalid(
                        &format!("{field}.speed_mbps"),
                        "must be positive",
                    ));
                }
                if !seen.insert(p.name.as_str()) {
                    return Err(hw_invalid(
                        &format!("{field}.name"),
                        format!("port {} is declared twice on this device", p.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The port called `name`, if the device has one.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.nics
            .iter()
            .flat_map(|n| n.ports.iter())
            .find(|p| p.name == name)
    }

    /// Every port of the device.
    pub fn ports(&self) -> impl Iterator<Item = &Port> {
        self.nics.iter().flat_map(|n| n.ports.iter())
    }

    /// Total physical cores.
    pub fn cores(&self) -> u64 {
        self.cpus.iter().map(|c| u64::from(c.cores)).sum()
    }

    /// Total disk size of one class, in GiB.
    pub fn disk_gib(&self, class: DiskClass) -> u64 {
        self.disks
            .iter()
            .filter(|d| d.class == class)
            .map(|d| d.size_gib)
            .fold(0, u64::saturating_add)
    }

    /// Total line rate of every port, in Mbit/s.
    pub fn network_mbps(&self) -> u64 {
        self.ports()
            .map(|p| p.speed_mbps)
            .fold(0, u64::saturating_add)
    }
}
