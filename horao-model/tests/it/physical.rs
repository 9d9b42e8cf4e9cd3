//! Scenario tests of the physical layer: datacenters, rows, racks, devices, components, links
//! and topology, every validation rule, writers, and the conflicts concurrent edits can
//! create. Larger scenarios live under `testdata/physical/`.

use crate::support::transcript::{check, check_after, check_dir};

const SITE: &str = "
a dc dc-a name=Alpha site=Amsterdam => ok
a row r1 dc=dc-a name=R1 => ok
a rack k1 row=r1 name=K1 height=10 => ok
";

#[test]
fn scenario_files() {
    check_dir("physical");
}

#[test]
fn ids_and_names_are_validated() {
    check(
        "
        a dc dc/a name=A => invalid datacenter.id: contains '/'; only ASCII letters, digits, '-', '_' and '.' are allowed
        a dc dc-a name= => invalid datacenter.name: must not be empty
        a dc dc-a name=A labels=a,b => ok
        a dc dc-a name=B => datacenter dc-a already exists
        a update-dc dc-b name=B => datacenter dc-b not found
        a row r1 dc=dc-b name=R => datacenter dc-b not found
        a row r1 dc=dc-a name=R at=after:r9 => invalid row.at: names a row that is not in this datacenter
        a rack k1 row=r1 name=K height=10 => row r1 not found
        ",
    );
}

#[test]
fn rack_heights_are_bounded() {
    check_after(
        SITE,
        "
        a rack k2 row=r1 name=K height=0 => invalid rack.height_units: must be between 1 and 100
        a rack k2 row=r1 name=K height=101 => invalid rack.height_units: must be between 1 and 100
        a rack k2 row=r1 name=K height=100 => ok
        a rack k2 row=r1 name=K height=4 => rack k2 already exists
        ",
    );
}

#[test]
fn devices_fit_their_rack_and_never_overlap() {
    check_after(
        SITE,
        "
        a device d1 rack=k1 unit=1 height=2 cpus=32@2400 ram=1024 => ok
        a device d2 rack=k1 unit=2 => rack unit k1/2 is in use by device d1
        a device d2 rack=k1 unit=0 => invalid device.place.unit: units 0..=0 do not fit rack k1 of 10 units
        a device d2 rack=k1 unit=10 height=2 => invalid device.place.unit: units 10..=11 do not fit rack k1 of 10 units
        a device d2 rack=k1 unit=9 height=2 => ok
        a device d3 rack=k9 unit=3 => rack k9 not found
        a device d3 rack=k1 unit=3 height=0 => invalid device.height_units: must be between 1 and 100
        a device d3 rack=k1 unit=3 kind=blade => invalid device.place: a blade is mounted in a chassis, not a rack
        a device d3 rack=k1 unit=3 cpus=0@2400 => invalid device.hardware.cpus[0].cores: must be positive
        a device d3 rack=k1 unit=3 disks=nvme:0 => invalid device.hardware.disks[0].size_gib: must be positive
        a device d3 rack=k1 unit=3 ports=eth0:100,eth0:100 => invalid device.hardware.nics[0].ports[1].name: port eth0 is declared twice on this device
        a device d3 rack=k1 unit=3 labels=bad,label with => ok
        a show device d3 => dev server h1 k1@3 labels=bad,label
        a move-device d3 rack=k1 unit=1 => rack unit k1/1 is in use by device d1
        a move-device d3 rack=k1 unit=5 => ok
        a update-device d1 kind=switch => device d1: device.kind is immutable: delete the device and create it anew
        a update-device d3 height=5 => rack unit k1/9 is in use by device d2
        a update-device d3 height=4 => ok
        a update-rack k1 name=K1 height=8 => invalid rack.height_units: device d2 occupies unit 10
        a delete rack k1 => rack k1 is in use by device d1
        a delete row r1 => row r1 is in use by rack k1
        a delete dc dc-a => datacenter dc-a is in use by row r1
        a show conflicts => -
        ",
    );
}

#[test]
fn rack_lists_follow_requested_positions() {
    check_after(
        SITE,
        "
        a device d1 rack=k1 unit=1 => ok
        a device d2 rack=k1 unit=2 at=start => ok
        a device d3 rack=k1 unit=3 at=after:d2 => ok
        a device d4 rack=k1 unit=4 at=before:d1 => ok
        a show devices k1 => d2 | d3 | d4 | d1
        a move-device d1 rack=k1 unit=1 at=start => ok
        a show devices k1 => d1 | d2 | d3 | d4
        a device d5 rack=k1 unit=5 at=after:zz => invalid device.place: `at` names a device that is not in this rack
        a row r0 dc=dc-a name=R0 at=start => ok
        a row r2 dc=dc-a name=R2 => ok
        a show rows dc-a => r0 | r1 | r2
        a move-row r2 at=after:r0 => ok
        a show rows dc-a => r0 | r2 | r1
        a rack k0 row=r1 name=K0 height=4 at=start => ok
        a show racks r1 => k0 | k1
        a move-rack k0 row=r2 => ok
        a show racks r1 => k1
        a show racks r2 => k0
        a dc dc-b name=B => ok
        a row rb dc=dc-b name=RB => ok
        a move-rack k0 row=rb => invalid rack.row: row rb is in another datacenter than rack k0
        ",
    );
}

#[test]
fn chassis_hold_blades_in_slots() {
    check_after(
        SITE,
        "
        a device c1 kind=chassis rack=k1 unit=1 height=4 => ok
        a device b1 kind=blade chassis=c1 slot=1 cpus=16@2000 => ok
        a device b2 kind=blade chassis=c1 slot=1 => chassis slot c1/1 is in use by device b1
        a device b2 kind=blade chassis=c1 slot=0 => invalid device.place.slot: must be between 1 and 64
        a device b2 kind=blade chassis=c9 slot=2 => device c9 not found
        a device b2 kind=server chassis=c1 slot=2 => invalid device.place: only blades are mounted in a chassis
        a device s1 rack=k1 unit=6 => ok
        a device b2 kind=blade chassis=s1 slot=2 => invalid device.place: device s1 is not a chassis
        a device b2 kind=blade chassis=c1 slot=2 => ok
        a show blades c1 => 1:b1 | 2:b2
        a show dc-of b2 => dc-a
        a delete device c1 => device c1 is in use by device b1
        a delete device b1 => ok
        a show blades c1 => 2:b2
        ",
    );
}

#[test]
fn links_join_two_free_ports() {
    check_after(
        SITE,
        "
        a device s1 kind=switch rack=k1 unit=1 ports=swp1:100000,swp2:100000,swp3:1000 => ok
        a device d1 rack=k1 unit=2 ports=eth0:25000,ipmi:1000 => ok
        a device d2 rack=k1 unit=3 ports=eth0:25000 => ok
        a link l1 a=d1:eth0 b=d1:eth0 speed=100 => invalid link.b: joins port d1:eth0 to itself
        a link l1 a=d1:eth9 b=s1:swp1 speed=100 => invalid link.a: device d1 has no port eth9
        a link l1 a=d9:eth0 b=s1:swp1 speed=100 => device d9 not found
        a link l1 a=d1:eth0 b=s1:swp1 speed=40000 => invalid link.speed_mbps: must be between 1 and the slower port's 25000 Mbit/s
        a link l1 a=d1:eth0 b=s1:swp1 speed=25000 => ok
        a link l2 a=d2:eth0 b=s1:swp1 speed=25000 => port s1:swp1 is in use by link l1
        a link l2 a=d2:eth0 b=s1:swp2 speed=25000 => ok
        a link l3 a=d1:ipmi b=s1:swp3 speed=1000 kind=management => ok
        a link l1 a=d2:eth0 b=s1:swp3 speed=1 => link l1 already exists
        a show reachable d1 data => d2 | s1
        a show reachable d1 management => s1
        a show reachable d2 control => -
        a show components data => d1,d2,s1
        a show links s1 => l1 | l2 | l3
        a hardware d1 ports=ipmi:1000 => port d1:eth0 is in use by link l1
        a hardware d1 ports=eth0:25000,ipmi:1000 cpus=8@3000 => ok
        a delete device d1 => device d1 is in use by link l1
        a delete link l1 => ok
        a delete link l3 => ok
        a delete device d1 => ok
        a show reachable d2 data => s1
        a delete link l9 => link l9 not found
        ",
    );
}

#[test]
fn labels_are_validated_and_add_wins() {
    check_after(
        SITE,
        "
        a device d1 rack=k1 unit=1 => ok
        a label device d1 +gpu => ok
        a label device d1 +two_words => ok
        a label rack k1 +cold => ok
        a label dc dc-a +eu => ok
        a label device d9 +x => device d9 not found
        a sync b => ok
        a label device d1 -gpu => ok
        b label device d1 +gpu => ok
        b sync a => ok
        a sync b => ok
        a show device d1 => dev server h1 k1@1 labels=gpu,two_words
        b show device d1 => dev server h1 k1@1 labels=gpu,two_words
        ",
    );
}

#[test]
fn concurrent_mounts_in_one_unit_are_both_kept_and_reported() {
    check_after(
        SITE,
        "
        a sync b => ok
        a device d1 rack=k1 unit=1 height=2 => ok
        b device d2 rack=k1 unit=2 => ok
        a sync b => ok
        b sync a => ok
        a show devices k1 => d2 | d1
        a show conflicts => rack k1 unit 2: devices d1 and d2 overlap
        b show conflicts => rack k1 unit 2: devices d1 and d2 overlap
        a move-device d2 rack=k1 unit=3 => ok
        a show conflicts => -
        ",
    );
}

#[test]
fn concurrent_links_on_one_port_are_reported() {
    check_after(
        SITE,
        "
        a device s1 kind=switch rack=k1 unit=1 ports=swp1:1000 => ok
        a device d1 rack=k1 unit=2 ports=eth0:1000 => ok
        a device d2 rack=k1 unit=3 ports=eth0:1000 => ok
        a sync b => ok
        a link l1 a=d1:eth0 b=s1:swp1 speed=1000 => ok
        b link l2 a=d2:eth0 b=s1:swp1 speed=1000 => ok
        b sync a => ok
        a show conflicts => port s1:swp1 used by links l1, l2
        a delete link l2 => ok
        a show conflicts => -
        ",
    );
}

#[test]
fn shrinking_a_rack_concurrently_with_a_mount_is_reported() {
    check_after(
        SITE,
        "
        a sync b => ok
        a update-rack k1 name=K1 height=4 => ok
        b device d1 rack=k1 unit=5 height=2 => ok
        b sync a => ok
        a show conflicts => device d1 reaches unit 6 of rack k1 (4 units)
        ",
    );
}

#[test]
fn deleting_a_rack_concurrently_with_a_mount_leaves_a_dangling_device() {
    check_after(
        SITE,
        "
        a sync b => ok
        a delete rack k1 => ok
        b device d1 rack=k1 unit=1 => ok
        b label rack k1 +late => ok
        b sync a => ok
        a show conflicts => device d1: place.rack names missing rack k1 | rack k1: incomplete, no info
        a sync b => ok
        b show conflicts => device d1: place.rack names missing rack k1 | rack k1: incomplete, no info
        ",
    );
}

#[test]
fn concurrent_moves_of_one_device_never_duplicate_it() {
    check_after(
        SITE,
        "
        a rack k2 row=r1 name=K2 height=10 => ok
        a device d1 rack=k1 unit=1 => ok
        a sync b => ok
        a move-device d1 rack=k2 unit=3 => ok
        b move-device d1 rack=k1 unit=7 at=start => ok
        a sync b => ok
        b sync a => ok
        a show devices k1 => d1
        a show devices k2 => -
        b show devices k1 => d1
        a show device d1 => dev server h1 k1@7 labels=-
        ",
    );
}
