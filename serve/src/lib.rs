//! The reviewlake REST API: the trained models, loaded once and served from memory.
//!
//! [`router`] builds the axum router (predictions, model documents, health, readiness, metrics,
//! OpenAPI, and the web [`console`]); [`Api`] is the service the server runs, that router with prediction requests
//! answered directly; [`Registry`] holds the loaded models and swaps in new versions atomically;
//! [`server::run`] binds, reloads on a timer and on SIGHUP, and drains on SIGTERM.

mod api;
pub mod console;
mod error;
pub mod input;
mod metrics;
pub mod openapi;
mod predict;
mod registry;
mod routes;
pub mod server;

pub use api::Api;
pub use console::{LakeView, SqlLimits};
pub use error::ApiError;
pub use metrics::{CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics};
pub use registry::{Loaded, Registry, ReloadReport};
pub use routes::{AppState, Limits, api_document, router};
