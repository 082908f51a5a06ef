//! A JSON body extractor whose rejections are problem+json like every other error.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};

use crate::error::AppError;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::BytesRejection(e))
                if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::TooLarge)
            }
            Err(e) => Err(AppError::BadRequest(e.body_text())),
        }
    }
}

/// A JSON response written into a buffer sized for a page of search hits up front (axum's
/// `Json` starts at 128 bytes and grows, copying the body several times over for a 10 KB
/// search response).
impl<T: serde::Serialize> axum::response::IntoResponse for ApiJson<T> {
    fn into_response(self) -> axum::response::Response {
        const START: usize = 16 * 1024;
        let mut body = Vec::with_capacity(START);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => (
                [(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                AppError::Internal(format!("cannot write the JSON response: {e}")).into_response()
            }
        }
    }
}
