//! The web console: its pages, compiled into the binary and served at `/`, and the endpoints they
//! read besides the API's own: the lake's figures, a model's past versions, plot and report, and
//! read-only SQL (off unless the server is started with it).
//!
//! A model name from a request is looked up among the loaded models before anything is read, so
//! it never reaches a storage path unchecked; SQL runs only the read-only statements
//! `reviewlake sql` accepts, with a row limit, a time limit and a bound on queries at once.

use std::time::{Duration, Instant};

use arrow::json::{WriterBuilder, writer::JsonArray};
use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use lake::{Lake, Query, Snapshot, SqlFiles, Table, Workload};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::{ApiError, AppState, openapi::ErrorBody, openapi::ModelPath};

/// Limits of `POST /sql`.
#[derive(Debug, Clone, Copy)]
pub struct SqlLimits {
    /// Most rows an answer carries; more are cut, and the answer says so.
    pub max_rows: usize,
    /// Longest a query may run.
    pub timeout: Duration,
    /// Most queries running at once; one more is answered 503.
    pub concurrent: usize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        Self {
            max_rows: 1000,
            timeout: Duration::from_secs(5),
            concurrent: 2,
        }
    }
}

/// The lake behind the console.
#[derive(Debug)]
pub struct LakeView {
    lake: Lake,
    sql_files: SqlFiles,
    /// `None`: `POST /sql` is off.
    sql: Option<SqlLimits>,
    sql_slots: Semaphore,
    /// Where `reviewlake ingest --metrics-bind` answers `/status`, for the lag.
    ingest_status: Option<String>,
    http: reqwest::Client,
    /// The snapshot the last request read (none yet: the default): the next one reads only the
    /// commits made since.
    last: std::sync::Mutex<Snapshot>,
}

/// Longest wait for ingest's status.
const INGEST_STATUS_TIMEOUT: Duration = Duration::from_secs(2);

/// Bytes of an example rejected payload shown.
const EXAMPLE_BYTES: usize = 300;

/// Commits of each table shown.
const COMMITS_SHOWN: usize = 10;

/// Past versions of a model listed.
const VERSIONS_SHOWN: usize = 20;

impl LakeView {
    /// `sql`: the limits of `POST /sql`, or `None` to keep it off. `ingest_status`: the URL of a
    /// running ingest's `/status`, if any.
    pub fn new(
        lake: Lake,
        sql_files: SqlFiles,
        sql: Option<SqlLimits>,
        ingest_status: Option<String>,
    ) -> Self {
        let slots = sql.map_or(0, |s| s.concurrent.max(1));
        Self {
            lake,
            sql_files,
            sql,
            sql_slots: Semaphore::new(slots),
            ingest_status,
            http: reqwest::Client::new(),
            last: std::sync::Mutex::default(),
        }
    }

    /// A query session on the lake's latest snapshot. Brought up to date from the previous
    /// request's (delta-rs reads only the commits since), it costs a request a few milliseconds
    /// instead of a load of both tables; on an unchanged lake the file statistics are shared too.
    async fn query(&self) -> lake::Result<Query> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let query = Query::open_since(&self.lake, &self.sql_files, Workload::AdHoc, &last).await?;
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = query.snapshot().clone();
        Ok(query)
    }

    async fn ingest(&self) -> Value {
        let Some(url) = &self.ingest_status else {
            return Value::Null;
        };
        let answer = async {
            self.http
                .get(url)
                .timeout(INGEST_STATUS_TIMEOUT)
                .send()
                .await?
                .error_for_status()?
                .json::<Value>()
                .await
        };
        match answer.await {
            Ok(status) => status,
            Err(e) => json!({ "error": format!("ingest's status is unavailable: {e}") }),
        }
    }
}

fn no_lake() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "this server was started without a lake",
    )
}

fn lake_error(e: lake::Error) -> ApiError {
    let status = match e {
        lake::Error::ReadOnly(_) => StatusCode::FORBIDDEN,
        lake::Error::Query(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    ApiError::new(status, lake::error_chain(&e))
}

fn model_error(e: train::Error) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, train::error_chain(&e))
}

/// The lake: rows and files per partition, the latest commits, rejects by field, ingest's lag
#[utoipa::path(get, path = "/lake", responses(
    (status = 200, description = "The latest snapshot in figures", body = Object),
    (status = 404, description = "The server has no lake", body = ErrorBody)))]
pub(crate) async fn lake(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let view = state.lake.as_deref().ok_or_else(no_lake)?;
    let query = view.query().await.map_err(lake_error)?;
    let summary = lake::summary(query.snapshot()).await.map_err(lake_error)?;
    let rejects = lake::rejects_by_field(&query, EXAMPLE_BYTES)
        .await
        .map_err(lake_error)?;
    let mut commits = serde_json::Map::new();
    for table in [Table::Reviews, Table::Rejected] {
        let history = query
            .snapshot()
            .history(table, Some(COMMITS_SHOWN))
            .await
            .map_err(lake_error)?;
        commits.insert(table.dir().to_string(), json!(history));
    }
    Ok(Json(json!({
        "lake": view.lake.redacted_url(),
        "summary": summary,
        "commits": commits,
        "rejects": rejects,
        "ingest": view.ingest().await,
    })))
}

/// A model's versions, newest first, with their key figures
#[utoipa::path(get, path = "/models/{model}/versions", params(ModelPath), responses(
    (status = 200, description = "Versions", body = Object),
    (status = 404, description = "Unknown model", body = ErrorBody)))]
pub(crate) async fn versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let loaded = state.registry.loaded(&name)?;
    let name = &loaded.model.doc.name;
    let mut ids = state.store.versions(name).await.map_err(model_error)?;
    ids.reverse();
    let mut out = Vec::new();
    for id in ids.iter().take(VERSIONS_SHOWN) {
        out.push(match state.store.version_doc(name, id).await {
            Ok(d) => json!({
                "version": d.version,
                "id": d.id,
                "serving": d.id == loaded.model.doc.id,
                "created_at": d.created_at,
                "cost": d.cost,
                "silhouette": d.silhouette,
                "rows_used": d.rows_used,
                "table_version": d.lake.table_version,
            }),
            Err(e) => json!({ "id": id, "error": train::error_chain(&e) }),
        });
    }
    Ok(Json(
        json!({ "model": name, "versions": out, "total": ids.len() }),
    ))
}

/// Reads one file of the version a loaded model serves.
async fn version_file(state: &AppState, name: &str, file: &str) -> Result<Bytes, ApiError> {
    let loaded = state.registry.loaded(name)?;
    state
        .store
        .read(&loaded.model.doc.name, &loaded.current, file)
        .await
        .map_err(model_error)
}

/// The cluster plot of the version being served (SVG)
#[utoipa::path(get, path = "/models/{model}/plot.svg", params(ModelPath), responses(
    (status = 200, description = "SVG", body = String, content_type = "image/svg+xml"),
    (status = 404, description = "Unknown model", body = ErrorBody)))]
pub(crate) async fn plot(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let svg = version_file(&state, &name, "plot.svg").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            // Shown as an image; opened alone, it runs no script.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        svg,
    )
        .into_response())
}

/// The training report of the version being served (Markdown)
#[utoipa::path(get, path = "/models/{model}/report.md", params(ModelPath), responses(
    (status = 200, description = "Markdown", body = String, content_type = "text/markdown"),
    (status = 404, description = "Unknown model", body = ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let md = version_file(&state, &name, "report.md").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        md,
    )
        .into_response())
}

/// A read-only SQL statement.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SqlRequest {
    /// One statement that only reads (SELECT, SHOW, DESCRIBE, EXPLAIN), over `reviews`,
    /// `rejected` and the views of the SQL folder.
    #[schema(pattern = r"\S")]
    sql: String,
}

/// Run one read-only SQL statement on the latest snapshot (off unless `--enable-sql`)
#[utoipa::path(post, path = "/sql", request_body(content = SqlRequest, content_type = "application/json",
        example = json!({ "sql": "SELECT review_rating, count(*) AS n FROM reviews GROUP BY 1 ORDER BY 1" })),
    responses(
        (status = 200, description = "Columns and rows (at most the row limit)", body = Object),
        (status = 400, description = "Not one valid statement", body = ErrorBody),
        (status = 403, description = "SQL is off, or the statement would write", body = ErrorBody),
        (status = 404, description = "The server has no lake", body = ErrorBody),
        (status = 503, description = "The most queries at once are running", body = ErrorBody),
        (status = 504, description = "The query ran past the time limit", body = ErrorBody)))]
pub(crate) async fn sql(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let view = state.lake.as_deref().ok_or_else(no_lake)?;
    let Some(limits) = view.sql else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "SQL is off on this server; start it with --enable-sql",
        ));
    };
    let request: SqlRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("send {{\"sql\": \"...\"}}: {e}"),
        )
    })?;
    let Ok(_slot) = view.sql_slots.try_acquire() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} queries are running, the most at once; try again shortly",
                limits.concurrent
            ),
        ));
    };
    let started = Instant::now();
    let run = async {
        let query = view.query().await?;
        let version = query.snapshot().versions();
        let (schema, batches) = query.run_limited(&request.sql, limits.max_rows + 1).await?;
        Ok::<_, lake::Error>((version, schema, batches))
    };
    let (version, schema, mut batches) = tokio::time::timeout(limits.timeout, run)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the query ran past the {} s limit and was stopped",
                    limits.timeout.as_secs_f64()
                ),
            )
        })?
        .map_err(lake_error)?;
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let truncated = total > limits.max_rows;
    if truncated {
        let mut left = limits.max_rows;
        for b in &mut batches {
            let keep = b.num_rows().min(left);
            *b = b.slice(0, keep);
            left -= keep;
        }
    }
    let mut writer = WriterBuilder::new()
        .with_explicit_nulls(true)
        .build::<_, JsonArray>(Vec::new());
    let refs: Vec<_> = batches.iter().collect();
    writer
        .write_batches(&refs)
        .and_then(|()| writer.finish())
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("the result cannot be shown as JSON: {e}"),
            )
        })?;
    let bytes = writer.into_inner();
    let rows: Value = if bytes.is_empty() {
        json!([])
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!([]))
    };
    let columns: Vec<Value> = schema
        .fields()
        .iter()
        .map(|f| json!({ "name": f.name(), "type": f.data_type().to_string() }))
        .collect();
    Ok(Json(json!({
        "columns": columns,
        "rows": rows,
        "row_count": total.min(limits.max_rows),
        "truncated": truncated,
        "max_rows": limits.max_rows,
        "reviews_version": version.reviews,
        "elapsed_ms": started.elapsed().as_secs_f64() * 1000.0,
    })))
}

/// A file of the console, compiled in.
struct Page {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const PAGES: [Page; 4] = [
    Page {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../console/index.html"),
    },
    Page {
        path: "/console/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../console/app.js"),
    },
    Page {
        path: "/console/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../console/style.css"),
    },
    Page {
        path: "/console/icon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../console/icon.svg"),
    },
];

/// What the pages may load and run: their own files and the API, nothing else.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's pages.
pub(crate) fn pages() -> Router<AppState> {
    PAGES.iter().fold(Router::new(), |router, page| {
        let (content_type, body) = (page.content_type, page.body);
        router.route(
            page.path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    body,
                )
            }),
        )
    })
}
