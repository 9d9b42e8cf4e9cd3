//! Golden-output tests of the btrfs-progs parsers, over outputs kept in `testdata/`.

use super::*;
use crate::btrfs::Usage;

fn golden(name: &str) -> String {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Id, referenced, exclusive, referenced limit, exclusive limit.
type Row = (u64, u64, u64, Option<u64>, Option<u64>);

/// The figures every qgroup golden file holds, in the order of its rows.
fn expected_qgroups() -> Vec<Row> {
    vec![
        (5, 16384, 16384, None, None),
        (256, 16384, 16384, None, None),
        (257, 16384, 16384, None, None),
        (258, 1064960, 16384, Some(10_000_000), None),
        (259, 16384, 16384, None, Some(5_000_000)),
        (260, 16384, 16384, None, None),
    ]
}

fn check_qgroups(file: &str) {
    let rows = parse_qgroup_show(&golden(file)).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            let q = r.qgroup;
            (
                r.id,
                q.referenced,
                q.exclusive,
                q.max_referenced,
                q.max_exclusive,
            )
        })
        .collect();
    assert_eq!(got, expected_qgroups(), "{file}");
}

#[test]
fn qgroup_show_before_6_0() {
    check_qgroups("qgroup-show-raw-5.10.txt");
}

#[test]
fn qgroup_show_6_x() {
    check_qgroups("qgroup-show-raw-6.2.txt");
}

#[test]
fn qgroup_show_6_x_with_parent_and_child_columns() {
    check_qgroups("qgroup-show-raw-6.2-pcre.txt");
}

#[test]
fn qgroup_show_errors_instead_of_guessing() {
    assert!(parse_qgroup_show("").is_err());
    assert!(parse_qgroup_show("qgroupid rfer\n-------- ----\n0/5 1\n").is_err());
    let bad = "qgroupid rfer excl max_rfer max_excl\n-------- ---- ---- -------- --------\n0/5 x 1 none none\n";
    assert!(parse_qgroup_show(bad).is_err());
    let short =
        "qgroupid rfer excl max_rfer max_excl\n-------- ---- ---- -------- --------\n0/5 1 1\n";
    assert!(parse_qgroup_show(short).is_err());
}

#[test]
fn subvolume_list_all() {
    let rows = parse_subvolume_list(&golden("subvolume-list-a-6.2.txt")).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|r| (r.id, r.parent_id, r.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (256, 5, "a"),
            (257, 5, "top"),
            (258, 257, "top/dir/v1"),
            (259, 258, "top/dir/v1/nested"),
            (260, 257, "top/dir/ro1"),
            (261, 257, "top/dir/with space"),
        ]
    );
}

#[test]
fn subvolume_list_skips_foreign_lines() {
    let rows = parse_subvolume_list("garbage\nID 300 gen 1 top level 5 path x\nline\n").unwrap();
    assert_eq!(rows.len(), 1);
    assert!(parse_subvolume_list("ID x gen 1 top level 5 path x\n").is_err());
}

#[test]
fn filesystem_usage() {
    let usage = parse_usage(&golden("filesystem-usage-b-6.2.txt")).unwrap();
    assert_eq!(
        usage,
        Usage {
            capacity_bytes: 1_073_741_824,
            used_bytes: 1_073_741_824 - 949_616_640,
            free_bytes: 949_616_640,
        }
    );
    let raid1 = "Device size: 2000\nFree (estimated): 500 (min: 1)\nData ratio: 2.00\n";
    assert_eq!(parse_usage(raid1).unwrap().capacity_bytes, 1000);
    assert!(parse_usage("Device size: 1\n").is_err());
}

#[test]
fn filesystem_show_and_rescan_status() {
    assert_eq!(
        parse_fsid(&golden("filesystem-show-6.2.txt")).unwrap(),
        "2149886d-6bd1-4f1e-95e6-1f6df4c6f0f5"
    );
    assert!(parse_fsid("Label: none\n").is_err());
    assert!(!parse_rescan_running("no rescan operation in progress\n").unwrap());
    assert!(parse_rescan_running("rescan operation running (current key 1234)\n").unwrap());
    assert!(parse_rescan_running("something else").is_err());
}
