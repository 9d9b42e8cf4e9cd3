//! Incremental placement: put a batch of requests (volumes, instances, reservation units) onto
//! machines that already carry work, honouring label filters, anti-affinity groups and
//! dilation, and explain every request that could not be placed.
//!
//! The caller passes the machines as they are (capacity, usage, labels, schedulability, the
//! anti-affinity groups they already host) and the requests; [`place`] returns a [`Plan`].
//! Expected outcomes — a request that does not fit — are [`Unplaced`] entries with a typed
//! [`Reason`], never errors. [`check_plan`] verifies a plan independently.
//!
//! Schedulable machines are grouped by identical label sets and each distinct label filter is
//! resolved to its classes once; the best-fit heuristics keep each class's machines in sorted
//! sets of free capacity per resource, so a request costs O(classes · log machines) rather
//! than a scan of every machine.
//!
//! ```
//! use horao_sched::placement::{Config, Machine, PlacementInput, Request, place};
//! use horao_sched::vector::{Dilation, Resources};
//!
//! let machine = |id: &str, disk: u64, labels: &[&str]| Machine {
//!     id: id.into(),
//!     capacity: vec![disk],
//!     usage: vec![],
//!     labels: labels.iter().map(|l| l.to_string()).collect(),
//!     schedulable: true,
//!     groups: Default::default(),
//! };
//! let input = PlacementInput {
//!     resources: Resources::new(["disk"]).unwrap(),
//!     machines: vec![machine("hdd1", 1000, &[]), machine("ssd1", 100, &["ssd"])],
//!     requests: vec![Request {
//!         id: "vol1".into(),
//!         demand: vec![80],
//!         labels: ["ssd".to_string()].into(),
//!         anti_affinity: None,
//!         dilation: Dilation::from_percent(25), // reserves 100
//!     }],
//! };
//! let plan = place(&input, &Config::default()).unwrap();
//! assert_eq!(plan.assignments[0].machine, "ssd1");
//! assert_eq!(plan.assignments[0].reserved, vec![100]);
//! ```

mod check;
mod engine;
mod index;
mod reason;
mod types;
mod validate;

pub use check::{PlanViolation, check_plan};
pub use engine::place;
pub use types::{
    Assignment, Config, InvalidRequest, Machine, PlacementInput, Plan, Reason, Request, Unplaced,
};
