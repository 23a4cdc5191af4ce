//! The service the server runs: the router, with prediction requests answered directly.
//!
//! `POST /predict/{model}` is nearly all of a prediction server's traffic. Through the router it
//! pays for route matching, the metrics middleware (which boxes the inner service per request),
//! the path and header extractors and a response extension; answered here it takes less server
//! CPU per request (figures in BENCHMARKS.md, serving runs 4 and 5). The answer
//! itself comes from the same [`predict::respond`] the router's handler calls, and the same
//! metrics are recorded. Any request that is not a plain `POST /predict/<name>` (a
//! percent-encoded or nested name, another method) goes to the router, which answers it exactly
//! as before.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower_service::Service;

use crate::{
    ApiError, AppState,
    predict::{self, BodyError},
    router,
    routes::{PREDICT_ROUTE, observe},
};

/// The whole API as one `tower` service: build it with [`Api::new`], serve it with
/// `axum::serve(listener, api.into_make_service())` or call it with `oneshot` in tests.
#[derive(Debug, Clone)]
pub struct Api {
    state: AppState,
    router: Router,
}

impl Api {
    pub fn new(state: AppState) -> Self {
        Self {
            router: router(state.clone()),
            state,
        }
    }

    /// The model name of a request the direct path answers, if it is one.
    fn direct(request: &Request) -> Option<&str> {
        if request.method() != Method::POST {
            return None;
        }
        let name = request.uri().path().strip_prefix("/predict/")?;
        let plain = !name.is_empty() && !name.contains(['/', '%']);
        plain.then_some(name)
    }
}

async fn answer_directly(state: AppState, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let name = parts
        .uri
        .path()
        .strip_prefix("/predict/")
        .unwrap_or_default();
    let body = match Limited::new(body, state.limits.max_body_bytes)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(BodyError::TooLarge),
        Err(e) => Err(BodyError::Unreadable(e.to_string())),
    };
    let (response, known) =
        predict::respond(&state, name, parts.headers.get(header::CONTENT_TYPE), body);
    let model = if known { name } else { "" };
    observe(
        &state,
        &parts.method,
        PREDICT_ROUTE,
        model,
        response.status(),
        started,
    );
    response
}

async fn within(
    deadline: Duration,
    state: &AppState,
    answer: impl Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(deadline, answer).await {
        Ok(response) => response,
        Err(_) => {
            state.metrics.request_timeouts.inc();
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request did not arrive within {} s",
                    deadline.as_secs_f64()
                ),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

impl Service<Request> for Api {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    /// Answers within `Limits::request_timeout` of the request head, or 408: a body that
    /// trickles in cannot hold a connection longer.
    fn call(&mut self, request: Request) -> Self::Future {
        let state = self.state.clone();
        let deadline = state.limits.request_timeout;
        if Self::direct(&request).is_some() {
            Box::pin(async move {
                let answer = answer_directly(state.clone(), request);
                Ok(within(deadline, &state, answer).await)
            })
        } else {
            let mut router = self.router.clone();
            Box::pin(async move {
                let answer = async move {
                    router
                        .call(request.map(Body::new))
                        .await
                        .unwrap_or_else(|e| match e {})
                };
                Ok(within(deadline, &state, answer).await)
            })
        }
    }
}
