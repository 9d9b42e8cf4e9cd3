//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the same route table
//! the router is built from (so it lists exactly the routes served). Every body is described by
//! the JSON Schema of the Rust type its handler parses or renders, derived from the same serde
//! attributes (schemars): a request as it is deserialized (fields with defaults optional,
//! unknown fields refused), an answer as it is serialized. Answers' named types are shared
//! under `components/schemas`; requests and query strings are inlined where they are used.

use crate::routes::{RouteInfo, SchemaFn, api};
use axum::Json;
use schemars::generate::SchemaSettings;
use schemars::{Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

/// Where shared schemas live in the document, as a JSON pointer.
const COMPONENTS: &str = "/components/schemas";

/// The generators of the document's schemas.
struct Generators {
    /// Answers: as serialized, named types under [`COMPONENTS`].
    answers: SchemaGenerator,
    /// Requests and query strings: as deserialized, inlined.
    requests: SchemaGenerator,
}

impl Generators {
    fn new() -> Self {
        let mut answers = SchemaSettings::draft2020_12().for_serialize();
        answers.definitions_path = COMPONENTS.into();
        answers.meta_schema = None;
        let mut requests = SchemaSettings::draft2020_12().for_deserialize();
        requests.definitions_path = COMPONENTS.into();
        requests.meta_schema = None;
        requests.inline_subschemas = true;
        Self {
            answers: answers.into_generator(),
            requests: requests.into_generator(),
        }
    }
}

/// The query parameters described by the object schema `schema`.
fn query_parameters(schema: &Schema) -> Vec<Value> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, prop)| {
            let mut prop = prop.clone();
            let description = prop
                .as_object_mut()
                .and_then(|o| o.remove("description"))
                .unwrap_or(Value::Null);
            let mut p = json!({
                "name": name,
                "in": "query",
                "required": required.contains(&name.as_str()),
                "schema": prop,
            });
            if !description.is_null() {
                p["description"] = description;
            }
            p
        })
        .collect()
}

/// `{"application/json": {"schema": …}}` for the type `f` describes.
fn json_content(g: &mut SchemaGenerator, f: SchemaFn) -> Value {
    json!({"application/json": {"schema": f(g)}})
}

fn operation(r: &RouteInfo, g: &mut Generators) -> Value {
    let mut params = Vec::new();
    if r.path.contains("{id}") {
        params.push(
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
        );
    }
    if let Some(q) = r.query {
        params.extend(query_parameters(&q(&mut g.requests)));
    }
    let mut success = json!({"description": match r.success {
        101 => "switching to the websocket protocol",
        201 => "created",
        204 => "done; no body",
        _ => "success",
    }});
    if let Some(a) = r.response {
        success["content"] = json_content(&mut g.answers, a);
    }
    let mut responses = Map::new();
    responses.insert(r.success.to_string(), success);
    responses.insert(
        "default".into(),
        json!({"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
    );
    let mut op = json!({
        "summary": r.summary,
        "operationId": format!("{} {}", r.method.to_lowercase(), r.path),
        "parameters": params,
        "responses": responses,
    });
    if let Some(b) = r.request {
        op["requestBody"] = json!({"required": true, "content": json_content(&mut g.requests, b)});
    }
    if !r.auth {
        op["security"] = json!([]);
    }
    op
}

/// The document.
pub fn build() -> Value {
    let mut g = Generators::new();
    let mut paths = Map::new();
    for r in api().routes() {
        let op = operation(r, &mut g);
        let item = paths
            .entry(r.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        item[r.method.to_lowercase()] = op;
    }
    let mut schemas = g.answers.take_definitions(true);
    // Inlined requests leave definitions only for recursive types; share them too.
    for (name, s) in g.requests.take_definitions(true) {
        schemas.entry(name).or_insert(s);
    }
    schemas.insert(
        "Error".into(),
        json!({
            "type": "object",
            "required": ["error", "detail"],
            "properties": {
                "error": {"type": "string", "description": "A stable code (`not_found`, `conflict`, …)"},
                "detail": {"type": "string", "description": "What was wrong, for people"},
                "field": {"type": "string", "description": "The request field at fault"}
            }
        }),
    );
    json!({
        "openapi": "3.1.0",
        "info": {"title": "HORAO", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        }
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}
