//! The client's error mapping and paging against the in-process fake server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail by panicking.

use super::*;
use crate::server::fake::{FakeServer, image_view, volume_view};
use horao_model::storage::VolumeState;

fn no_wait(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        attempts,
        base: Duration::ZERO,
        cap: Duration::ZERO,
    }
}

fn client(server: &FakeServer, token: &str) -> Client {
    Client::new(&server.url(), token, no_wait(3), 1)
}

fn current() -> VolumeCurrentView {
    VolumeCurrentView {
        state: VolumeState::Ready,
        used_bytes: 1,
        limit_bytes: 2,
        initialized: true,
        degraded: false,
        reason: String::new(),
        nested: Vec::new(),
    }
}

#[test]
fn listing_follows_every_page() {
    let server = FakeServer::start("t").unwrap();
    {
        let mut s = server.state();
        s.page_size = 2;
        for i in 0..5 {
            s.volumes
                .push(volume_view(&format!("v{i}"), &format!("n{i}"), "m1", 10).unwrap());
        }
        s.volumes
            .push(volume_view("v9", "other", "m2", 10).unwrap());
        for i in 0..3 {
            s.images
                .push(image_view(&format!("i{i}"), &format!("img{i}"), Some("v0")).unwrap());
        }
    }
    let listing = client(&server, "t").list("m1").unwrap();
    let ids: Vec<&str> = listing.volumes.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["v0", "v1", "v2", "v3", "v4"]);
    assert_eq!(listing.total, 5);
    let images: Vec<&str> = listing.images.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(images, ["i0", "i1", "i2"]);
    assert_eq!(listing.images_total, 3);
    let s = server.state();
    assert_eq!(s.requests.len(), 5, "{:?}", s.requests);
    assert!(s.requests[1].contains("after=v1"), "{:?}", s.requests);
    assert!(
        s.requests[4].contains("/api/v1/images?"),
        "{:?}",
        s.requests
    );
    assert!(s.requests[4].contains("after=i1"), "{:?}", s.requests);
}

#[test]
fn refused_tokens_are_fatal() {
    let server = FakeServer::start("right").unwrap();
    let err = client(&server, "wrong").list("m1").unwrap_err();
    assert!(
        matches!(err, ClientError::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert!(err.is_fatal());
    assert!(err.to_string().contains("--token"), "{err}");
    server
        .state()
        .fail
        .push_back((403, r#"{"error":"forbidden","detail":"no"}"#.into()));
    let err = client(&server, "right").list("m1").unwrap_err();
    assert!(
        matches!(err, ClientError::Unauthorized { status: 403, .. }),
        "{err}"
    );
    // Not retried.
    assert_eq!(server.state().requests.len(), 2);
}

#[test]
fn not_found_and_rejections_carry_the_servers_error() {
    let server = FakeServer::start("t").unwrap();
    let err = client(&server, "t")
        .put_current("nope", &current())
        .unwrap_err();
    match &err {
        ClientError::NotFound { path, body } => {
            assert_eq!(path, "/api/v1/volumes/nope/current");
            assert_eq!(body.error, "not_found");
        }
        other => panic!("{other}"),
    }
    assert!(!err.is_fatal());
    server.state().fail.push_back((
        422,
        r#"{"error":"invalid","detail":"bad state","field":"state"}"#.into(),
    ));
    let err = client(&server, "t")
        .put_machine("m1", &PutMachine::default())
        .unwrap_err();
    match err {
        ClientError::Rejected { status, body, .. } => {
            assert_eq!(status, 422);
            assert_eq!(body.field.as_deref(), Some("state"));
            assert_eq!(body.to_string(), "invalid: bad state (field state)");
        }
        other => panic!("{other}"),
    }
    // A body that is not JSON is kept as the detail.
    server.state().fail.push_back((400, "plain text".into()));
    let err = client(&server, "t")
        .put_machine("m1", &PutMachine::default())
        .unwrap_err();
    assert!(err.to_string().contains("plain text"), "{err}");
}

#[test]
fn server_errors_are_retried_then_reported() {
    let server = FakeServer::start("t").unwrap();
    server
        .state()
        .volumes
        .push(volume_view("v1", "a", "m1", 10).unwrap());
    server
        .state()
        .fail
        .extend([(503, String::new()), (500, String::new())]);
    let mut c = client(&server, "t");
    c.put_current("v1", &current()).unwrap();
    assert_eq!(server.state().current["v1"], [current()]);
    server
        .state()
        .fail
        .extend((0..3).map(|_| (502, r#"{"error":"x","detail":"y"}"#.into())));
    match c.put_current("v1", &current()).unwrap_err() {
        ClientError::Server {
            status, attempts, ..
        } => assert_eq!((status, attempts), (502, 3)),
        other => panic!("{other}"),
    }
}

#[test]
fn unreachable_servers_and_garbage_are_typed() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut c = Client::new(&format!("http://{addr}"), "t", no_wait(2), 1);
    match c.list("m1").unwrap_err() {
        ClientError::Unreachable { attempts, url, .. } => {
            assert_eq!(attempts, 2);
            assert!(url.ends_with("/api/v1/volumes"), "{url}");
        }
        other => panic!("{other}"),
    }
    let server = FakeServer::start("t").unwrap();
    server.state().fail.push_back((200, "{\"items\":3}".into()));
    let err = client(&server, "t").list("m1").unwrap_err();
    assert!(matches!(err, ClientError::Decode { .. }), "{err}");
}

#[test]
fn a_cursor_that_does_not_advance_is_an_error() {
    let server = FakeServer::start("t").unwrap();
    server
        .state()
        .fail
        .push_back((200, r#"{"items":[],"total":1,"next":"v1"}"#.into()));
    let err = client(&server, "t").list("m1").unwrap_err();
    assert!(err.to_string().contains("does not advance"), "{err}");
}

#[test]
fn segments_are_encoded() {
    assert_eq!(segment("a-b_c.d~9"), "a-b_c.d~9");
    assert_eq!(segment("a/b c"), "a%2Fb%20c");
}
