//! The OpenAPI document: valid OpenAPI 3.1, its schemas valid JSON Schema 2020-12, every
//! reference resolving, and every route with a body described. (Every answer the other tests
//! receive is checked against it by `support::contract`.)

use crate::support::contract::document;
use serde_json::Value;

/// The OpenAPI 3.1 schema (OpenAPI Initiative, Apache-2.0), `tests/data`.
fn oas_schema() -> Value {
    serde_json::from_str(include_str!("../data/openapi-3.1-schema.json")).unwrap()
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let v = jsonschema::draft202012::new(&oas_schema()).unwrap();
    let doc = document();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid OpenAPI 3.1:\n{}",
        errors.join("\n")
    );
    // The check can fail: a document whose operation lacks its responses is refused.
    let mut broken = doc.clone();
    broken["paths"]["/api/v1/volumes"]["get"]["responses"] = Value::String("none".into());
    assert!(!v.is_valid(&broken));
}

#[test]
fn every_schema_is_json_schema_2020_12() {
    let schemas = document()["components"]["schemas"].as_object().unwrap();
    assert!(schemas.len() > 40, "only {} shared schemas", schemas.len());
    for (name, s) in schemas {
        assert!(
            jsonschema::meta::is_valid(s),
            "components/schemas/{name} is not a valid JSON Schema: {s}"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{name} is not a valid component name"
        );
    }
}

/// Every `$ref` string under `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves() {
    let doc = document();
    let mut all = Vec::new();
    refs(doc, &mut all);
    assert!(all.len() > 100, "only {} references", all.len());
    for r in all {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} is not local"));
        assert!(doc.pointer(pointer).is_some(), "{r} resolves to nothing");
    }
}

#[test]
fn every_body_is_described() {
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let takes_body = matches!(method.as_str(), "post" | "put" | "patch")
                && !path.ends_with("/retry")
                && !path.ends_with("/purge")
                && !path.ends_with("/retire");
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(
                schema.is_object(),
                takes_body,
                "{method} {path}: request body schema {schema}"
            );
            let (status, answer) = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .find(|(s, _)| s.as_str() != "default")
                .unwrap();
            let has_body = !matches!(status.as_str(), "101" | "204");
            assert_eq!(
                answer["content"]["application/json"]["schema"].is_object(),
                has_body,
                "{method} {path} {status}: answer {answer}"
            );
        }
    }
}

#[test]
fn list_routes_document_their_query() {
    let op = &document()["paths"]["/api/v1/volumes"]["get"];
    let names: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for n in ["limit", "after", "name", "label", "datacenter", "machine"] {
        assert!(names.contains(&n), "GET /volumes lacks ?{n}: {names:?}");
    }
    let create = &document()["paths"]["/api/v1/volumes"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(
        create["required"],
        serde_json::json!(["name", "size_bytes"])
    );
    assert_eq!(create["additionalProperties"], Value::Bool(false));
}

#[test]
fn answers_and_requests_off_the_contract_are_caught() {
    use crate::support::contract::check_exchange;
    use serde_json::json;
    let ok = json!({"status": "live"});
    check_exchange("GET", "/api/v1/health/live", None, 200, &ok);
    let cases: Vec<(&str, &str, Option<Value>, u16, Value)> = vec![
        // An answer missing a required field.
        ("GET", "/api/v1/volumes/v1", None, 200, json!({"id": "v1"})),
        // An answer of the wrong type.
        (
            "GET",
            "/api/v1/health/live",
            None,
            200,
            json!({"status": 3}),
        ),
        // A list without its page shape.
        ("GET", "/api/v1/volumes?limit=2", None, 200, json!([])),
        // An error without the error shape.
        (
            "GET",
            "/api/v1/volumes/v1",
            None,
            404,
            json!({"message": "no"}),
        ),
        // A request the document refuses (an unknown field) that the server accepted.
        (
            "POST",
            "/api/v1/datacenters",
            Some(json!({"name": "a", "colour": "red"})),
            201,
            json!({"id": "d", "name": "a"}),
        ),
        // A status the document does not list.
        ("DELETE", "/api/v1/volumes/v1", None, 200, Value::Null),
        // A route the document does not have.
        ("GET", "/api/v1/nowhere", None, 200, json!({})),
    ];
    for (method, path, req, status, answer) in cases {
        let caught = std::panic::catch_unwind(|| {
            check_exchange(method, path, req.as_ref(), status, &answer)
        });
        assert!(
            caught.is_err(),
            "{method} {path} {status} {answer} was not caught"
        );
    }
}
