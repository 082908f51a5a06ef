//! The OpenAPI 3 document, generated from the handlers' annotations so it cannot drift.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use super::{admin, articles, authoring, events, schemas, search, session, snippets, webhooks};

#[derive(OpenApi)]
#[openapi(
    info(title = "omnikb API", description = "Publish once, update everywhere: contact-center knowledge for web, IVR, agent desk, bots and SMS. Errors are application/problem+json (RFC 9457)."),
    paths(
        schemas::list,
        search::search,
        search::click,
        search::suggest,
        search::answer,
        search::analytics,
        search::synonyms,
        search::put_synonyms,
        events::stream,
        webhooks::create,
        webhooks::list,
        webhooks::delete,
        webhooks::deliveries,
        webhooks::redeliver,
        admin::list_users,
        admin::create_user,
        admin::list_keys,
        admin::create_key,
        admin::revoke_key,
        admin::review_due,
        admin::translations,
        session::login,
        session::logout,
        articles::get_article,
        articles::get_render,
        authoring::create,
        authoring::save_draft,
        authoring::transition,
        authoring::revisions,
        authoring::revision,
        authoring::preview,
        authoring::diff,
        authoring::rollback,
        authoring::confidence,
        authoring::feedback,
        snippets::list,
        snippets::create,
        snippets::get,
        snippets::save_draft,
        snippets::transition,
        snippets::impact,
    ),
    components(schemas(crate::error::Problem, crate::schema::FieldError)),
    modifiers(&BearerAuth),
    tags((name = "articles", description = "published knowledge"), (name = "authoring", description = "drafts and the approval workflow"), (name = "snippets", description = "reusable content blocks, their review and impact preview"))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
