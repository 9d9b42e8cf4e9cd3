//! Tests of vector packing: heuristic validity and determinism as properties, the checker's
//! ability to reject broken packings, the lower bound, dilation and the resource registry.

use horao_sched::Error;
use horao_sched::vector::{
    Dilation, Heuristic, Resources, VectorInstance, VectorItem, VectorPacking, Violation,
    check_packing, lower_bound, pack,
};
use proptest::prelude::*;

/// Random instances: 1–4 dimensions, up to 8 item types with up to 6 copies each.
fn instance() -> impl Strategy<Value = VectorInstance> {
    (1usize..=4)
        .prop_flat_map(|d| (prop::collection::vec(1u64..=20, d), Just(d)))
        .prop_flat_map(|(capacity, d)| {
            let caps = capacity.clone();
            let item = prop::collection::vec(0u64..=1000, d).prop_map(move |raw| {
                raw.iter()
                    .zip(&caps)
                    .map(|(&r, &c)| r % (c + 1))
                    .collect::<Vec<u64>>()
            });
            let items = prop::collection::vec((item, 0u64..=6), 0..=8).prop_map(|v| {
                v.into_iter()
                    .map(|(size, count)| VectorItem { size, count })
                    .collect()
            });
            (Just(capacity), items)
        })
        .prop_map(|(capacity, items)| VectorInstance { capacity, items })
}

proptest! {
    #[test]
    fn every_heuristic_packs_validly_and_deterministically(inst in instance()) {
        for h in Heuristic::ALL {
            let p = pack(&inst, h).unwrap();
            prop_assert_eq!(check_packing(&inst, &p), Ok(()), "{}", h);
            prop_assert_eq!(&pack(&inst, h).unwrap(), &p, "{} is not deterministic", h);
            prop_assert!(p.bins.len() as u64 >= lower_bound(&inst).unwrap());
        }
    }

    #[test]
    fn checker_rejects_a_dropped_or_duplicated_copy(mut inst in instance(), pick in any::<prop::sample::Index>()) {
        // At least one copy, so there is always something to drop.
        let half = inst.capacity.iter().map(|c| c / 2).collect();
        inst.items.push(VectorItem { size: half, count: 1 });
        let p = pack(&inst, Heuristic::FfdSum).unwrap();
        let copies: Vec<(usize, usize)> = p.bins.iter().enumerate()
            .flat_map(|(b, c)| (0..c.len()).map(move |i| (b, i))).collect();
        let (b, i) = copies[pick.index(copies.len())];
        let item = p.bins[b][i];

        let mut dropped = p.clone();
        dropped.bins[b].remove(i);
        dropped.bins.retain(|c| !c.is_empty());
        dropped.lower_bound = 0;
        let dropped_ok = matches!(check_packing(&inst, &dropped), Err(Violation::WrongCount { .. }));
        prop_assert!(dropped_ok);

        let mut twice = p.clone();
        twice.bins.push(vec![item]);
        let twice_ok = matches!(check_packing(&inst, &twice), Err(Violation::WrongCount { .. }));
        prop_assert!(twice_ok);
    }

    #[test]
    fn dilation_rounds_up_and_never_wraps(size in any::<u64>(), bp in any::<u32>()) {
        let exact = u128::from(size) * (10_000 + u128::from(bp));
        let want = exact.div_ceil(10_000);
        let got = Dilation::from_basis_points(bp).apply(size);
        prop_assert_eq!(got.map(u128::from), u64::try_from(want).ok().map(u128::from));
    }
}

#[test]
fn checker_rejects_overflow_empty_bins_unknown_items_and_a_false_bound() {
    let inst = VectorInstance {
        capacity: vec![10, 5],
        items: vec![VectorItem {
            size: vec![6, 1],
            count: 2,
        }],
    };
    let packing = |bins: Vec<Vec<usize>>, lower_bound| VectorPacking { bins, lower_bound };
    assert_eq!(
        check_packing(&inst, &packing(vec![vec![0], vec![0]], 2)),
        Ok(())
    );
    assert_eq!(
        check_packing(&inst, &packing(vec![vec![0, 0]], 1)),
        Err(Violation::Overflow {
            bin: 0,
            dimension: 0,
            load: 12,
            capacity: 10
        })
    );
    assert_eq!(
        check_packing(&inst, &packing(vec![vec![0], vec![], vec![0]], 2)),
        Err(Violation::EmptyBin { bin: 1 })
    );
    assert_eq!(
        check_packing(&inst, &packing(vec![vec![0], vec![1]], 2)),
        Err(Violation::UnknownItem { bin: 1, item: 1 })
    );
    assert_eq!(
        check_packing(&inst, &packing(vec![vec![0], vec![0]], 3)),
        Err(Violation::BelowLowerBound {
            bins: 2,
            lower_bound: 3
        })
    );
}

#[test]
fn lower_bound_is_the_tightest_dimension() {
    let inst = VectorInstance {
        capacity: vec![100, 10],
        items: vec![
            VectorItem {
                size: vec![10, 3],
                count: 5,
            },
            VectorItem {
                size: vec![1, 4],
                count: 1,
            },
        ],
    };
    // cpu: 51/100 → 1; ram: 19/10 → 2.
    assert_eq!(lower_bound(&inst), Ok(2));
    let empty = VectorInstance {
        capacity: vec![3],
        items: vec![],
    };
    assert_eq!(lower_bound(&empty), Ok(0));
    let zeros = VectorInstance {
        capacity: vec![3],
        items: vec![VectorItem {
            size: vec![0],
            count: 4,
        }],
    };
    assert_eq!(lower_bound(&zeros), Ok(1));
    assert_eq!(pack(&zeros, Heuristic::DotProduct).unwrap().bins.len(), 1);
}

#[test]
fn heuristics_reach_the_optimum_on_complementary_items() {
    // Tall and wide items pair up perfectly: 3 bins are optimal and every heuristic finds them.
    let inst = VectorInstance {
        capacity: vec![10, 10],
        items: vec![
            VectorItem {
                size: vec![7, 3],
                count: 3,
            },
            VectorItem {
                size: vec![3, 7],
                count: 3,
            },
        ],
    };
    for h in Heuristic::ALL {
        let p = pack(&inst, h).unwrap();
        check_packing(&inst, &p).unwrap();
        assert_eq!(p.bins.len(), 3, "{h}");
        assert_eq!(p.lower_bound, 3);
    }
}

#[test]
fn malformed_instances_are_errors() {
    let short = VectorInstance {
        capacity: vec![5, 5],
        items: vec![VectorItem {
            size: vec![1],
            count: 1,
        }],
    };
    assert!(matches!(
        pack(&short, Heuristic::FfdSum),
        Err(Error::DimensionMismatch {
            found: 1,
            expected: 2,
            ..
        })
    ));
    let big = VectorInstance {
        capacity: vec![5, 5],
        items: vec![VectorItem {
            size: vec![1, 6],
            count: 1,
        }],
    };
    assert_eq!(
        pack(&big, Heuristic::L2Norm),
        Err(Error::VectorItemTooLarge {
            item: 0,
            dimension: 1,
            size: 6,
            capacity: 5
        })
    );
}

#[test]
fn heuristic_names_round_trip() {
    for h in Heuristic::ALL {
        assert_eq!(h.name().parse::<Heuristic>(), Ok(h));
    }
    assert!("best-fit".parse::<Heuristic>().is_err());
}

#[test]
fn dilation_examples() {
    assert_eq!(Dilation::from_percent(25).apply(100), Some(125));
    assert_eq!(
        Dilation::from_percent(10).apply(5),
        Some(6),
        "headroom rounds up"
    );
    assert_eq!(Dilation::NONE.apply(u64::MAX), Some(u64::MAX));
    assert_eq!(Dilation::from_basis_points(1).apply(u64::MAX), None);
    assert_eq!(
        Dilation::from_percent(50).apply_all(&[2, u64::MAX, 4]),
        Err(1)
    );
}

#[test]
fn resources_map_names_to_indices() {
    let r = Resources::new(["cpu", "ram", "disk"]).unwrap();
    assert_eq!(r.index("ram"), Some(1));
    assert_eq!(r.name(2), Some("disk"));
    assert_eq!(r.vector([("disk", 7), ("cpu", 2)]), Ok(vec![2, 0, 7]));
    assert_eq!(
        r.vector([("gpu", 1)]),
        Err(Error::UnknownResource("gpu".into()))
    );
    assert_eq!(
        Resources::new(["a", "a"]),
        Err(Error::DuplicateResource("a".into()))
    );
}
