//! The API's contract as the OpenAPI document states it, checked on every exchange the
//! integration tests make: an answer on success must match its route's response schema, an
//! error must have the error shape, and a request the server accepted must match its route's
//! request schema (so the document never refuses what the server takes). A mismatch fails the
//! test that made the request, naming the route and what did not match.

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The document, generated once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(horao_server::openapi::build)
}

/// The route template of `path` (query string ignored) served for `method`, if any.
fn route(method: &str, path: &str) -> Option<(String, &'static Value)> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object()?;
    for (template, item) in paths {
        let t: Vec<&str> = template.split('/').collect();
        let fits = t.len() == segs.len()
            && t.iter()
                .zip(&segs)
                .all(|(a, b)| a == b || (a.starts_with('{') && !b.is_empty()));
        if let Some(op) = item.get(method.to_lowercase()).filter(|_| fits) {
            return Some((template.clone(), op));
        }
    }
    None
}

/// A validator of `schema`, resolving `#/components/...` against the document.
fn validator(key: String, schema: &Value) -> Arc<jsonschema::Validator> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(v) = cache.lock().unwrap().get(&key) {
        return v.clone();
    }
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": document()["components"],
        "allOf": [schema],
    });
    let v = Arc::new(
        jsonschema::draft202012::new(&root)
            .unwrap_or_else(|e| panic!("the schema of {key} does not compile: {e}")),
    );
    cache.lock().unwrap().insert(key, v.clone());
    v
}

/// Fails with every way `value` breaks `schema` (`what` names the check).
fn check(what: String, schema: &Value, value: &Value) {
    let v = validator(what.clone(), schema);
    let errors: Vec<String> = v
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the body does not match the OpenAPI document:\n  {}\nbody: {value}",
        errors.join("\n  ")
    );
}

/// Checks one exchange against the document: `status` and `answer` of `method path`, whose
/// request body was `request` (JSON, when it parsed).
pub fn check_exchange(
    method: &str,
    path: &str,
    request: Option<&Value>,
    status: u16,
    answer: &Value,
) {
    // `/metrics` speaks Prometheus, not this API.
    if !path.starts_with("/api/") {
        return;
    }
    // Answers of no route (404 from the fallback) still have the error shape.
    let route = route(method, path);
    if status >= 400 {
        if !answer.is_null() {
            check(
                "an error".into(),
                &json!({"$ref": "#/components/schemas/Error"}),
                answer,
            );
        }
        return;
    }
    let Some((template, op)) = route else {
        panic!("{method} {path} answered {status}, but the OpenAPI document has no such route");
    };
    if let (Some(req), Some(schema)) = (
        request,
        op["requestBody"]["content"]["application/json"].get("schema"),
    ) {
        check(format!("{method} {template} request"), schema, req);
    }
    let documented = op["responses"]
        .as_object()
        .map(|r| r.contains_key(&status.to_string()));
    assert_eq!(
        documented,
        Some(true),
        "{method} {template} answered {status}, which the document does not list"
    );
    if let Some(schema) =
        op["responses"][status.to_string()]["content"]["application/json"].get("schema")
    {
        check(format!("{method} {template} {status}"), schema, answer);
    }
}
