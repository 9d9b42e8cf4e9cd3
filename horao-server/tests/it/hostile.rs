//! Hostile input over every route of the table: each gets the right 4xx with a JSON error
//! that says what is wrong, never a 5xx, and the server stays healthy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::support::{TestServer, stores};
use horao_server::app::HttpLimits;
use horao_server::routes::api;

/// One hostile request: method, path, body, content type, and the statuses accepted.
struct Case {
    what: String,
    method: String,
    path: String,
    body: Vec<u8>,
    content_type: Option<&'static str>,
    want: &'static [u16],
}

/// A hostile body: what it is, its bytes, its content type, the statuses accepted.
type Body = (&'static str, Vec<u8>, Option<&'static str>, &'static [u16]);

fn deep(n: usize) -> Vec<u8> {
    let mut v = "[".repeat(n).into_bytes();
    v.extend("]".repeat(n).into_bytes());
    v
}

/// Path parameters that break the id rule, and one that is fine but unknown.
const BAD_IDS: &[(&str, &[u16])] = &[
    ("..", &[404, 422]),
    ("a%2Fb", &[404, 422]),
    ("%00", &[404, 422]),
    ("%C3%A9t%C3%A9", &[404, 422]),
    ("%FF", &[400, 404, 422]),
    // A machine of that name exists once `PUT /machines/no-such-id` registered it: deleting
    // it then is 422 (not retired).
    ("no-such-id", &[404, 403, 422]),
];

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for r in api().routes() {
        let has_body = matches!(r.method, "POST" | "PUT" | "PATCH");
        let path = r.path.replace("{id}", "no-such-id");
        if has_body {
            let bodies: Vec<Body> = vec![
                (
                    "bad json",
                    b"{\"name\": ".to_vec(),
                    Some("application/json"),
                    &[400, 404, 422],
                ),
                (
                    "not json at all",
                    b"\x00\xff<<".to_vec(),
                    Some("application/json"),
                    &[400, 404, 422],
                ),
                (
                    "wrong content type",
                    b"{}".to_vec(),
                    Some("text/plain"),
                    &[415, 404],
                ),
                ("no content type", b"{}".to_vec(), None, &[415, 404]),
                (
                    "deep nesting",
                    deep(100_000),
                    Some("application/json"),
                    &[400, 404, 422],
                ),
                (
                    "array",
                    b"[1,2,3]".to_vec(),
                    Some("application/json"),
                    &[422, 404],
                ),
                (
                    "unknown field",
                    br#"{"name":"x","size_bytes":1,"bogus":1,"role":"tenant","tenant":"t"}"#
                        .to_vec(),
                    Some("application/json"),
                    &[422, 404],
                ),
                (
                    "wrong types",
                    br#"{"name":7,"size_bytes":"big","labels":[]}"#.to_vec(),
                    Some("application/json"),
                    &[422, 404],
                ),
                (
                    "negative size",
                    br#"{"name":"v","size_bytes":-1}"#.to_vec(),
                    Some("application/json"),
                    &[422, 404],
                ),
                (
                    "overflowing size",
                    br#"{"name":"v","size_bytes":184467440737095516150}"#.to_vec(),
                    Some("application/json"),
                    &[422, 404],
                ),
                // The server may close the connection before the client sent it all (status 0).
                (
                    "huge body",
                    vec![b' '; 2 << 20],
                    Some("application/json"),
                    &[413, 404, 0],
                ),
                (
                    "name with slash",
                    br#"{"name":"a/b","size_bytes":1}"#.to_vec(),
                    Some("application/json"),
                    &[201, 403, 404, 409, 422],
                ),
                (
                    "name with dotdot",
                    br#"{"name":"..","size_bytes":1}"#.to_vec(),
                    Some("application/json"),
                    &[201, 403, 404, 409, 422],
                ),
                (
                    "name with NUL",
                    br#"{"name":"a\u0000b","size_bytes":1}"#.to_vec(),
                    Some("application/json"),
                    &[201, 403, 404, 409, 422],
                ),
                (
                    "unicode name",
                    "{\"name\":\"été 🚀\",\"size_bytes\":1}".as_bytes().to_vec(),
                    Some("application/json"),
                    &[201, 403, 404, 409, 422],
                ),
            ];
            for (what, body, ct, want) in bodies {
                out.push(Case {
                    what: what.to_string(),
                    method: r.method.to_string(),
                    path: path.clone(),
                    body,
                    content_type: ct,
                    want,
                });
            }
        }
        if r.path.contains("{id}") {
            for (id, want) in BAD_IDS {
                out.push(Case {
                    what: format!("id {id}"),
                    method: r.method.to_string(),
                    path: r.path.replace("{id}", id),
                    body: if has_body { b"{}".to_vec() } else { Vec::new() },
                    content_type: has_body.then_some("application/json"),
                    // `PUT /machines/{name}` with `{}` registers a machine of that name.
                    want: match r.method {
                        "PUT" => &[200, 400, 403, 404, 422],
                        _ if has_body => &[400, 403, 404, 422],
                        _ => want,
                    },
                });
            }
        }
        if r.method == "GET" && !r.path.contains("{id}") {
            for q in [
                "limit=0",
                "limit=-1",
                "limit=99999999999999999999999",
                "bogus=1",
                "label=%00%00",
                "after=..%2F",
            ] {
                out.push(Case {
                    what: format!("query {q}"),
                    method: "GET".into(),
                    path: format!("{}?{q}", r.path),
                    body: Vec::new(),
                    content_type: None,
                    want: &[200, 422],
                });
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_gets_clear_4xx() {
    let kind = stores()[0];
    let home = kind.home();
    let s = TestServer::start_with(home.open(), HttpLimits::default()).await;
    let c = &s.admin;
    let cases = cases();
    assert!(
        cases.len() > 500,
        "the table covers every route: {}",
        cases.len()
    );
    for case in &cases {
        let r = c
            .raw(
                &case.method,
                &case.path,
                case.body.clone(),
                case.content_type,
            )
            .await;
        assert!(
            case.want.contains(&r.status),
            "{} {} ({}): got {} {}",
            case.method,
            case.path,
            case.what,
            r.status,
            String::from_utf8_lossy(&r.raw)
        );
        if r.status >= 400 || r.status == 0 && case.want != [413, 404, 0] {
            let detail = r.body["detail"].as_str().unwrap_or_default();
            assert!(
                r.body["error"].is_string() && !detail.is_empty(),
                "{} {} ({}): a JSON error with a detail, got {}",
                case.method,
                case.path,
                case.what,
                String::from_utf8_lossy(&r.raw)
            );
        }
    }
    // Unknown paths and methods answer JSON too.
    let r = c.get("/api/v1/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "not_found");
    let r = c
        .raw(
            "PUT",
            "/api/v1/datacenters",
            b"{}".to_vec(),
            Some("application/json"),
        )
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error"], "method_not_allowed");
    // The server is healthy and still writes.
    assert_eq!(c.get("/api/v1/health/ready").await.status, 200);
    let r = c
        .post("/api/v1/datacenters", &serde_json::json!({"name": "after"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_field() {
    let kind = stores()[0];
    let home = kind.home();
    let s = TestServer::start(home.open()).await;
    let r = s
        .admin
        .post(
            "/api/v1/volumes",
            &serde_json::json!({"name": "v", "size_bytes": 1, "mode": "9999"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["field"], "volume.mode", "{}", r.body);
    let r = s.admin.get("/api/v1/volumes/bad%20id").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("only ASCII letters"),
        "{}",
        r.body
    );
    s.stop().await;
}
