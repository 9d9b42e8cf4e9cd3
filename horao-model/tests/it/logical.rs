//! Scenario tests of the logical layer: infrastructures (a multi-value map of datacenters),
//! tenants with delegates, quotas and constraints, resource profiles, and capacity
//! aggregated by dimension over datacenters, labels, tenants and infrastructures.

use crate::support::transcript::{check_after, check_dir};
use horao_model::logical::{Capacity, Dimension};
use horao_model::physical::DiskClass;

/// Two datacenters: dc-a with a GPU node (nvme) and dc-b with a storage node (hdd, ssd).
const SITES: &str = "
a dc dc-a name=Alpha => ok
a dc dc-b name=Bravo => ok
a row ra dc=dc-a name=RA => ok
a row rb dc=dc-b name=RB => ok
a rack ka row=ra name=KA height=42 => ok
a rack kb row=rb name=KB height=42 => ok
a device g1 rack=ka unit=1 cpus=64@2000 ram=524288 gpus=h100,h100 disks=nvme:2000 ports=eth0:100000 labels=gpu => ok
a device s1 rack=kb unit=1 cpus=16@2000 ram=65536 disks=hdd:10000,ssd:1000 ports=eth0:25000 => ok
";

#[test]
fn scenario_files() {
    check_dir("logical");
}

#[test]
fn capacity_display_and_arithmetic() {
    let mut c = Capacity::from_pairs([
        (Dimension::Cores, 4),
        (Dimension::Disk(DiskClass::Nvme), 10),
    ]);
    assert_eq!(c.to_string(), "cores=4 disk_nvme_gib=10");
    c.add(&c.clone());
    assert_eq!(c.times(3).get(Dimension::Cores), 24);
    assert_eq!(Capacity::default().to_string(), "-");
    assert!(Capacity::default().is_zero());
    for d in Dimension::ALL {
        assert_eq!(Dimension::parse(d.name()), Some(d));
        assert_eq!(Dimension::ALL[d.index()], d);
    }
    assert_eq!(Capacity([u64::MAX; 7]).times(2), Capacity([u64::MAX; 7]));
}

#[test]
fn infrastructures_aggregate_their_active_datacenters() {
    check_after(
        SITES,
        "
        a infra prod name=Production => ok
        a infra prod name=Again => infrastructure prod already exists
        a infra bad name= => invalid infrastructure.name: must not be empty
        a show capacity infra=prod => -
        a member prod dc-a => ok
        a member prod dc-z => datacenter dc-z not found
        a member nope dc-a => infrastructure nope not found
        a show capacity infra=prod => cores=64 ram_mib=524288 accelerators=2 disk_nvme_gib=2000 network_mbps=100000
        a member prod dc-b role=standby => ok
        a show members prod => dc-a:active | dc-b:standby
        a show capacity infra=prod => cores=64 ram_mib=524288 accelerators=2 disk_nvme_gib=2000 network_mbps=100000
        a member prod dc-b => ok
        a show capacity infra=prod => cores=80 ram_mib=589824 accelerators=2 disk_hdd_gib=10000 disk_ssd_gib=1000 disk_nvme_gib=2000 network_mbps=125000
        a unmember prod dc-b => ok
        a unmember prod dc-b => datacenter dc-b not found
        a show members prod => dc-a:active
        a delete infra prod => ok
        a show capacity infra=prod => infrastructure prod not found
        ",
    );
}

#[test]
fn concurrent_roles_are_all_kept_until_rewritten() {
    check_after(
        SITES,
        "
        a infra prod name=Production => ok
        a member prod dc-a => ok
        a sync b => ok
        a member prod dc-a role=standby => ok
        b member prod dc-a role=active => ok
        b sync a => ok
        a show members prod => dc-a:standby+active
        a show conflicts => infrastructure prod datacenter dc-a: roles [Active, Standby]
        a show capacity infra=prod => cores=64 ram_mib=524288 accelerators=2 disk_nvme_gib=2000 network_mbps=100000
        a member prod dc-a role=standby => ok
        a show members prod => dc-a:standby
        a show conflicts => -
        ",
    );
}

#[test]
fn capacity_by_datacenter_label_and_tenant() {
    check_after(
        SITES,
        "
        a show capacity => cores=80 ram_mib=589824 accelerators=2 disk_hdd_gib=10000 disk_ssd_gib=1000 disk_nvme_gib=2000 network_mbps=125000
        a show capacity dc=dc-b => cores=16 ram_mib=65536 disk_hdd_gib=10000 disk_ssd_gib=1000 network_mbps=25000
        a show capacity dc=dc-a,dc-b label=gpu => cores=64 ram_mib=524288 accelerators=2 disk_nvme_gib=2000 network_mbps=100000
        a tenant acme name=Acme owner=alice => ok
        a show capacity tenant=acme => cores=80 ram_mib=589824 accelerators=2 disk_hdd_gib=10000 disk_ssd_gib=1000 disk_nvme_gib=2000 network_mbps=125000
        a constraint acme +disk:nvme => ok
        a show capacity tenant=acme => cores=80 ram_mib=589824 accelerators=2 disk_nvme_gib=2000 network_mbps=125000
        a constraint acme +disk:ssd => ok
        a show capacity tenant=acme => cores=80 ram_mib=589824 accelerators=2 disk_ssd_gib=1000 disk_nvme_gib=2000 network_mbps=125000
        a constraint acme +dc:dc-b => ok
        a show capacity tenant=acme => cores=16 ram_mib=65536 disk_ssd_gib=1000 network_mbps=25000
        a show capacity tenant=acme dc=dc-a => -
        a constraint acme -dc:dc-b => ok
        a constraint acme +label:gpu => ok
        a show capacity tenant=acme => cores=64 ram_mib=524288 accelerators=2 disk_nvme_gib=2000 network_mbps=100000
        a constraint acme +dc:dc-z => datacenter dc-z not found
        a show tenant acme => owner=alice delegates=- quotas=- constraints=disk:ssd,disk:nvme,label:gpu
        ",
    );
}

#[test]
fn tenants_have_owners_delegates_and_quotas() {
    check_after(
        SITES,
        "
        a tenant acme name=Acme owner= => invalid tenant.owner: must not be empty
        a tenant acme name=Acme owner=alice => ok
        a tenant acme name=Acme owner=bob => tenant acme already exists
        a delegate acme +bob => ok
        a delegate acme +carol => ok
        a delegate nope +bob => tenant nope not found
        a quota acme cores=100 => ok
        a quota acme disk_nvme_gib=500 => ok
        a quota acme bogus=1 => bad dimension
        a show tenant acme => owner=alice delegates=bob,carol quotas=cores=100,disk_nvme_gib=500 constraints=-
        a sync b => ok
        a delegate acme -bob => ok
        b delegate acme +bob => ok
        a quota acme cores=- => ok
        b quota acme cores=200 => ok
        b sync a => ok
        a show tenant acme => owner=alice delegates=bob,carol quotas=cores=200,disk_nvme_gib=500 constraints=-
        ",
    );
}

#[test]
fn profiles_must_ask_for_something() {
    check_after(
        SITES,
        "
        a profile p1 name=empty => invalid profile.demand: must ask for something in at least one dimension
        a profile p1 name=gpu-node cores=64 ram_mib=524288 accelerators=4 => ok
        a profile p1 name=gpu-node cores=1 => profile p1 already exists
        a update-profile p2 name=x cores=1 => profile p2 not found
        a update-profile p1 name=gpu-node cores=32 => ok
        a delete profile p1 => ok
        a delete profile p1 => profile p1 not found
        ",
    );
}

#[test]
fn deleting_a_datacenter_concurrently_with_membership_is_reported() {
    check_after(
        SITES,
        "
        a infra prod name=Production => ok
        a dc dc-c name=Charlie => ok
        a tenant acme name=Acme owner=alice => ok
        a sync b => ok
        a delete dc dc-c => ok
        b member prod dc-c => ok
        b constraint acme +dc:dc-c => ok
        b sync a => ok
        a show conflicts => infrastructure prod: datacenters names missing datacenter dc-c | tenant acme: constraints names missing datacenter dc-c
        ",
    );
}
