use std::sync::Arc;

use lake::Lake;
use serve::{LakeView, Limits, SqlLimits, server::ServeOptions};

use crate::cli::ServeArgs;

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.models.store(&args.lake)?;
    let sql = args.enable_sql.then(|| SqlLimits {
        max_rows: args.sql_max_rows.max(1),
        timeout: args.sql_timeout,
        concurrent: args.sql_concurrent.max(1),
    });
    let lake = LakeView::new(
        Lake::open(&args.lake.lake)?,
        args.sql.files(),
        sql,
        args.ingest_status.clone(),
    );
    let options = ServeOptions {
        bind: args.bind.clone(),
        reload_interval: args.reload_interval,
        limits: Limits {
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch,
            request_timeout: args.request_timeout,
        },
        header_timeout: args.header_timeout,
        max_connections: args.max_connections.max(1),
        drain_timeout: args.drain_timeout,
    };
    serve::server::run(
        store,
        Some(Arc::new(lake)),
        options,
        |addr| {
            eprintln!("serving on http://{addr}  (console: http://{addr}/; try: curl -s -X POST http://{addr}/predict/model_1 -H 'Content-Type: application/json' -d '{{\"rating\": 4, \"likes\": 15, \"length\": 300}}')");
        },
        crate::signals::shutdown(),
    )
    .await?;
    Ok(())
}
