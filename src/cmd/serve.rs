use serve::{Limits, server::ServeOptions};

use crate::cli::ServeArgs;

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = args.models.store(&args.lake)?;
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
        options,
        |addr| {
            eprintln!("serving on http://{addr}  (try: curl -s -X POST http://{addr}/predict/model_1 -H 'Content-Type: application/json' -d '{{\"rating\": 4, \"likes\": 15, \"length\": 300}}')");
        },
        crate::signals::shutdown(),
    )
    .await?;
    Ok(())
}
