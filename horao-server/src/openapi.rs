//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the same route table
//! the router is built from (so it lists exactly the routes served), with the error shape,
//! the page shape and bearer authentication.

use crate::routes::{RouteInfo, api};
use axum::Json;
use serde_json::{Map, Value, json};

fn operation(r: &RouteInfo) -> Value {
    let mut params = Vec::new();
    if r.path.contains("{id}") {
        params.push(
            json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
        );
    }
    let mut responses = Map::new();
    responses.insert(
        r.success.to_string(),
        json!({"description": "success", "content": {"application/json": {}}}),
    );
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
    if matches!(r.method, "POST" | "PUT" | "PATCH") {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {}}});
    }
    if !r.auth {
        op["security"] = json!([]);
    }
    op
}

/// The document.
pub fn build() -> Value {
    let mut paths = Map::new();
    for r in api().routes() {
        let item = paths
            .entry(r.path.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        item[r.method.to_lowercase()] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "HORAO", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {
                        "error": {"type": "string"},
                        "detail": {"type": "string"},
                        "field": {"type": "string"}
                    }
                },
                "Page": {
                    "type": "object",
                    "required": ["items", "total"],
                    "properties": {
                        "items": {"type": "array"},
                        "total": {"type": "integer"},
                        "next": {"type": ["string", "null"]}
                    }
                }
            }
        }
    })
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    Json(build())
}
