//! `GET /api/v1/schemas`: the content schemas in force.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct SchemaView {
    pub name: String,
    pub label: std::collections::BTreeMap<String, String>,
    pub approvals: u32,
    pub verification_days: u32,
    /// The JSON Schema document as written, with its `x-omnikb` annotations.
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SchemaList {
    pub schemas: Vec<SchemaView>,
}

#[utoipa::path(get, path = "/api/v1/schemas", tag = "schemas", responses((status = 200, body = SchemaList)))]
pub async fn list(State(state): State<AppState>) -> Json<SchemaList> {
    let set = state.kb.schemas();
    Json(SchemaList {
        schemas: set
            .iter()
            .map(|s| SchemaView {
                name: s.name.clone(),
                label: s.rules.label.clone(),
                approvals: s.rules.approvals,
                verification_days: s.rules.verification_days,
                schema: s.raw.clone(),
            })
            .collect(),
    })
}
