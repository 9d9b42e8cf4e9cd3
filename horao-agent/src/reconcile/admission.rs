//! Validation and admission of the desired volumes: pure, deterministic, and the reason the
//! agent is the authority on its own disk. Volumes already on disk stay admitted; the others
//! are admitted in (assigned_at, id) order while their limits fit the budget, and the rest
//! are rejected with the reason, so the server re-places them.

use crate::desired::{DesiredVolume, Presence, VolumeSource};
use crate::name::Name;
use horao_sched::vector::Dilation;
use std::collections::{BTreeMap, BTreeSet};

/// Where an admitted volume's content comes from, with validated names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    Empty,
    Image(Name),
    Clone(Name),
}

/// What the pass does with one desired volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Make it exist with this referenced limit.
    Keep {
        name: Name,
        limit: u64,
        origin: Origin,
    },
    /// Delete its subvolume if it exists.
    Delete { name: Name },
    /// Do nothing and report it rejected.
    Reject(String),
}

/// The qgroup limit for a volume: ⌈size × (1 + dilation/100)⌉ in integer arithmetic (the
/// scheduler's own dilation, so the agent enforces what placement counted); `None` when it
/// does not fit in 64 bits.
pub fn limit_bytes(size_bytes: u64, dilation_percent: u32) -> Option<u64> {
    Dilation::from_percent(dilation_percent).apply(size_bytes)
}

fn validate(v: &DesiredVolume) -> Result<(Name, u64, Origin), String> {
    let name = Name::new(&v.name).map_err(|e| e.to_string())?;
    if v.size_bytes == 0 {
        return Err("size must be at least 1 byte".into());
    }
    if v.mode > 0o7777 {
        return Err(format!("mode {:o} is more than 7777", v.mode));
    }
    let limit = limit_bytes(v.size_bytes, v.dilation_percent)
        .ok_or_else(|| "size with dilation overflows 64 bits".to_string())?;
    let source = |n: &str| Name::new(n).map_err(|e| format!("source: {e}"));
    let origin = match &v.source {
        VolumeSource::None => Origin::Empty,
        VolumeSource::Image(n) => Origin::Image(source(n)?),
        VolumeSource::Clone(n) if *n == v.name => return Err("a volume cannot clone itself".into()),
        VolumeSource::Clone(n) => Origin::Clone(source(n)?),
    };
    Ok((name, limit, origin))
}

/// One verdict per desired volume, in input order. `exists` tells whether a volume's
/// subvolume is on disk; `budget` is the total of limits the filesystem may hold.
pub(crate) fn admit(
    volumes: &[DesiredVolume],
    exists: impl Fn(&Name) -> bool,
    budget: u64,
) -> Vec<Verdict> {
    let mut order: Vec<usize> = (0..volumes.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&volumes[a], &volumes[b]);
        (x.assigned_at, &x.id, a).cmp(&(y.assigned_at, &y.id, b))
    });
    let mut verdicts: Vec<Option<Verdict>> = vec![None; volumes.len()];
    let mut ids = BTreeSet::new();
    let mut present: BTreeMap<Name, &str> = BTreeMap::new();
    let mut wanted = Vec::new();
    // Validation, duplicate ids, and one present volume per name (the earliest assigned).
    for &i in &order {
        let v = &volumes[i];
        let verdict = match validate(v) {
            Err(reason) => Some(Verdict::Reject(reason)),
            Ok(_) if !ids.insert(v.id.as_str()) => {
                Some(Verdict::Reject(format!("duplicate volume id {}", v.id)))
            }
            Ok((name, limit, origin)) if v.desired == Presence::Present => {
                if let Some(owner) = present.get(&name) {
                    Some(Verdict::Reject(format!(
                        "name {name} is taken by volume {owner}"
                    )))
                } else {
                    present.insert(name.clone(), &v.id);
                    wanted.push((i, name, limit, origin));
                    None
                }
            }
            Ok((name, ..)) => Some(Verdict::Delete { name }),
        };
        verdicts[i] = verdict;
    }
    // A delete never touches a subvolume another volume is desired present under.
    for (i, v) in verdicts.iter_mut().enumerate() {
        if let Some(Verdict::Delete { name }) = v {
            if let Some(owner) = present.get(name).filter(|o| **o != volumes[i].id) {
                *v = Some(Verdict::Reject(format!(
                    "name {name} is desired present by volume {owner}; not deleted"
                )));
            }
        }
    }
    // Admission: volumes on disk first (they hold their space already), then the rest in
    // order while they fit.
    let mut used: u64 = 0;
    let (on_disk, new): (Vec<_>, Vec<_>) = wanted.into_iter().partition(|w| exists(&w.1));
    for (i, name, limit, origin) in on_disk {
        used = used.saturating_add(limit);
        verdicts[i] = Some(Verdict::Keep {
            name,
            limit,
            origin,
        });
    }
    for (i, name, limit, origin) in new {
        let left = budget.saturating_sub(used);
        verdicts[i] = Some(if limit <= left {
            used += limit;
            Verdict::Keep {
                name,
                limit,
                origin,
            }
        } else {
            Verdict::Reject(format!(
                "needs {limit} bytes of quota; {left} of {budget} bytes are left"
            ))
        });
    }
    verdicts
        .into_iter()
        .map(|v| v.unwrap_or_else(|| Verdict::Reject("not decided".into())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn vol(id: &str, name: &str, size: u64, at: u64) -> DesiredVolume {
        DesiredVolume {
            id: id.into(),
            name: name.into(),
            size_bytes: size,
            dilation_percent: 0,
            owner_uid: 0,
            owner_gid: 0,
            mode: 0o755,
            source: VolumeSource::None,
            assigned_at: at,
            desired: Presence::Present,
        }
    }

    fn summary(verdicts: &[Verdict]) -> Vec<String> {
        verdicts
            .iter()
            .map(|v| match v {
                Verdict::Keep { name, limit, .. } => format!("keep {name} {limit}"),
                Verdict::Delete { name } => format!("delete {name}"),
                Verdict::Reject(r) => format!("reject {r}"),
            })
            .collect()
    }

    #[test]
    fn limit_is_the_ceiling_of_the_dilated_size() {
        assert_eq!(limit_bytes(1000, 10), Some(1100));
        assert_eq!(limit_bytes(1001, 10), Some(1102)); // 1101.1 rounds up
        assert_eq!(limit_bytes(3, 33), Some(4)); // 3.99
        assert_eq!(limit_bytes(7, 0), Some(7));
        assert_eq!(limit_bytes(u64::MAX, 1), None);
    }

    #[test]
    fn admits_in_assignment_order_then_id_while_it_fits() {
        let vols = [
            vol("c", "c", 40, 2),
            vol("b", "b", 50, 1),
            vol("a", "a", 50, 1),
            vol("d", "d", 10, 3),
        ];
        let got = summary(&admit(&vols, |_| false, 110));
        assert_eq!(
            got,
            [
                "reject needs 40 bytes of quota; 10 of 110 bytes are left",
                "keep b 50",
                "keep a 50",
                "keep d 10",
            ]
        );
        // The same input in another order gives the same verdicts.
        let mut rev = vols.to_vec();
        rev.reverse();
        let mut again = summary(&admit(&rev, |_| false, 110));
        again.reverse();
        assert_eq!(again, got);
    }

    #[test]
    fn volumes_on_disk_stay_admitted() {
        let vols = [vol("a", "a", 60, 1), vol("b", "b", 60, 2)];
        let got = summary(&admit(&vols, |n| n.as_str() == "b", 100));
        assert_eq!(
            got[0],
            "reject needs 60 bytes of quota; 40 of 100 bytes are left"
        );
        assert_eq!(got[1], "keep b 60");
    }

    #[test]
    fn invalid_and_conflicting_entries_are_rejected() {
        let mut bad_mode = vol("m", "m", 1, 0);
        bad_mode.mode = 0o10000;
        let mut deleted = vol("x", "shared", 1, 0);
        deleted.desired = Presence::Deleted;
        let mut gone = vol("g", "gone", 1, 0);
        gone.desired = Presence::Deleted;
        let mut self_clone = vol("s", "s", 1, 0);
        self_clone.source = VolumeSource::Clone("s".into());
        let mut bad_image = vol("i", "i", 1, 0);
        bad_image.source = VolumeSource::Image("../etc".into());
        let vols = [
            vol("1", "..", 1, 0),
            vol("2", "z", 0, 0),
            bad_mode,
            vol("3", "shared", 1, 1),
            vol("4", "shared", 1, 2),
            vol("3", "other", 1, 3),
            deleted,
            gone,
            self_clone,
            bad_image,
        ];
        let got = summary(&admit(&vols, |_| false, u64::MAX));
        assert!(got[0].starts_with("reject invalid name"), "{}", got[0]);
        assert_eq!(got[1], "reject size must be at least 1 byte");
        assert_eq!(got[2], "reject mode 10000 is more than 7777");
        assert_eq!(got[3], "keep shared 1");
        assert_eq!(got[4], "reject name shared is taken by volume 3");
        assert_eq!(got[5], "reject duplicate volume id 3");
        assert_eq!(
            got[6],
            "reject name shared is desired present by volume 3; not deleted"
        );
        assert_eq!(got[7], "delete gone");
        assert_eq!(got[8], "reject a volume cannot clone itself");
        assert!(
            got[9].starts_with("reject source: invalid name"),
            "{}",
            got[9]
        );
    }
}
