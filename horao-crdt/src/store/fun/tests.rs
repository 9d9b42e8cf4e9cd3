//! Unit tests of `DotFun` against a plain vector model: the join, the encoding (byte for byte
//! that of a `Vec`) and decoding of hostile input.

use super::*;
use crate::id::ReplicaId;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::hash::DefaultHasher;

fn dot(r: u64, c: u64) -> Dot {
    Dot::new(ReplicaId(r), c)
}

/// Sorted, unique entries (dots from a small space so the two sides share some).
fn entries() -> impl Strategy<Value = Vec<(Dot, u8)>> {
    proptest::collection::btree_map(
        (0u64..3, 1u64..8).prop_map(|(r, c)| dot(r, c)),
        any::<u8>(),
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn context() -> impl Strategy<Value = CausalContext> {
    proptest::collection::btree_set((0u64..3, 1u64..8).prop_map(|(r, c)| dot(r, c)), 0..24)
        .prop_map(|s| s.into_iter().collect())
}

/// The join rule on plain vectors: keep an entry both sides hold (with `a`'s value), and an
/// entry one side holds that the other side's context lacks.
fn model(
    a: &[(Dot, u8)],
    b: &[(Dot, u8)],
    ours: &CausalContext,
    theirs: &CausalContext,
) -> Vec<(Dot, u8)> {
    let b_dots: BTreeSet<Dot> = b.iter().map(|e| e.0).collect();
    let a_dots: BTreeSet<Dot> = a.iter().map(|e| e.0).collect();
    let mut out: Vec<(Dot, u8)> = a
        .iter()
        .filter(|(d, _)| b_dots.contains(d) || !theirs.contains(d))
        .chain(
            b.iter()
                .filter(|(d, _)| !a_dots.contains(d) && !ours.contains(d)),
        )
        .copied()
        .collect();
    out.sort_by_key(|e| e.0);
    out
}

fn bincode_of<T: Serialize>(v: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(v, bincode::config::standard()).unwrap()
}

fn hash_of<T: Hash>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

proptest! {
    #[test]
    fn join_matches_the_vector_model(
        a in entries(),
        b in entries(),
        ours in context(),
        theirs in context(),
    ) {
        let mut joined = DotFun::from_vec(a.clone());
        joined.join(DotFun::from_vec(b.clone()), &ours, &theirs, JoinMode::State);
        let want = model(&a, &b, &ours, &theirs);
        prop_assert_eq!(joined.entries(), &want[..]);
        joined.validate().unwrap();
        // A single entry is kept inline.
        prop_assert_eq!(matches!(joined.0, Entries::One(_)), want.len() == 1);
    }

    #[test]
    fn encoding_is_that_of_a_vector(a in entries()) {
        let f = DotFun::from_vec(a.clone());
        let bytes = bincode_of(&f);
        prop_assert_eq!(&bytes, &bincode_of(&a));
        let (back, used): (DotFun<u8>, usize) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        prop_assert_eq!(used, bytes.len());
        prop_assert_eq!(back.entries(), &a[..]);
        prop_assert_eq!(matches!(back.0, Entries::One(_)), a.len() == 1);
    }
}

#[test]
fn equality_and_hash_ignore_the_representation() {
    let e = (dot(1, 1), 7u8);
    let inline = DotFun::single(e.0, e.1);
    let boxed = DotFun(Entries::Many(vec![e]));
    assert_eq!(inline, boxed);
    assert_eq!(hash_of(&inline), hash_of(&boxed));
    assert_eq!(hash_of(&inline), hash_of(&vec![e]));
    assert_eq!(format!("{inline:?}"), format!("{boxed:?}"));
    assert_ne!(inline, DotFun::single(dot(1, 2), 7));
}

#[test]
fn decoded_disorder_is_caught_by_validate() {
    for bad in [
        vec![(dot(1, 2), 0u8), (dot(1, 1), 0)],
        vec![(dot(1, 1), 0u8), (dot(1, 1), 1)],
        vec![(dot(1, 1), 0u8), (dot(2, 1), 0), (dot(1, 5), 0)],
    ] {
        let (f, _): (DotFun<u8>, usize) =
            bincode::serde::decode_from_slice(&bincode_of(&bad), bincode::config::standard())
                .unwrap();
        assert_eq!(f.entries(), &bad[..]);
        assert!(f.validate().is_err(), "{bad:?}");
    }
}

#[test]
fn a_huge_declared_length_is_an_error_not_an_allocation() {
    // Two real entries under a declared length of 2^60: the decoder must run out of input, not
    // reserve room for the declared length.
    let two = vec![(dot(1, 1), 0u8), (dot(1, 2), 0)];
    let mut bytes = bincode_of(&(1u64 << 60));
    bytes.extend_from_slice(&bincode_of(&two)[1..]);
    let r: std::result::Result<(DotFun<u8>, usize), _> =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard());
    assert!(r.is_err());
    // The same bytes with the true length decode.
    let ok: (DotFun<u8>, usize) =
        bincode::serde::decode_from_slice(&bincode_of(&two), bincode::config::standard()).unwrap();
    assert_eq!(ok.0.entries(), &two[..]);
}
