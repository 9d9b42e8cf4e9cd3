//! The API's one error shape, `{"error", "detail", "field"?}` with its HTTP status, and the
//! mapping of the model's errors onto it.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use horao_model::Error as ModelError;
use serde::Serialize;

/// An error answered to a client.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`not_found`, `invalid_field`, …).
    pub code: &'static str,
    /// What went wrong, for a person.
    pub detail: String,
    /// The offending field, when one is known.
    pub field: Option<String>,
}

/// The JSON body of an error.
#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// An error with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
        }
    }

    /// The same error naming `field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400: the body is not JSON (or the request is malformed).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", detail)
    }

    /// 422: well-formed, but the wrong shape or value.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail)
    }

    /// 404: nothing at this id or path.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// 401: no token, or an unknown one.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// 403: the token's role may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 503: the store failed; nothing was changed.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
    }

    /// 426: a websocket endpoint was called without a valid upgrade.
    pub fn upgrade_required(e: &axum::extract::ws::rejection::WebSocketUpgradeRejection) -> Self {
        Self::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            format!("this is a websocket endpoint: {}", e.body_text()),
        )
    }

    /// 500: a fault of the server itself.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", detail)
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        let detail = e.to_string();
        let (status, code, field) = match &e {
            ModelError::InvalidField { field, .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                Some(field.clone()),
            ),
            ModelError::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", None),
            ModelError::AlreadyExists { .. } => (StatusCode::CONFLICT, "already_exists", None),
            ModelError::IllegalTransition { .. } => {
                (StatusCode::CONFLICT, "illegal_transition", None)
            }
            ModelError::WrongWriter { field, .. } => (
                StatusCode::FORBIDDEN,
                "wrong_writer",
                Some(field.to_string()),
            ),
            ModelError::Immutable { field, .. } => {
                (StatusCode::CONFLICT, "immutable", Some(field.to_string()))
            }
            ModelError::InUse { .. } => (StatusCode::CONFLICT, "in_use", None),
            ModelError::DiskNotInitialized { .. } => {
                (StatusCode::CONFLICT, "disk_not_initialized", None)
            }
            ModelError::DependencyCycle { .. } => (StatusCode::CONFLICT, "dependency_cycle", None),
            ModelError::DoesNotFit { .. } => (StatusCode::CONFLICT, "does_not_fit", None),
            ModelError::NoRoom { .. } => (StatusCode::CONFLICT, "no_room", None),
            ModelError::NotPlaced { .. } => (StatusCode::CONFLICT, "not_placed", None),
            ModelError::UnsupportedSchema { .. } | ModelError::Crdt(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
        };
        Self {
            status,
            code,
            detail,
            field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: self.code,
            detail: &self.detail,
            field: self.field.as_deref(),
        };
        (self.status, Json(body)).into_response()
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
