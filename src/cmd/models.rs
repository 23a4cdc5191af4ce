use serde_json::json;

use crate::cli::{ModelsArgs, OutputFormat, PredictArgs};

pub(crate) async fn list(args: ModelsArgs) -> anyhow::Result<()> {
    let store = args.models.store(&args.lake)?;
    let names = store.names().await?;
    if matches!(args.format, OutputFormat::Json) {
        let mut docs = Vec::new();
        for name in &names {
            docs.push(serde_json::to_value(&store.load(name).await?.doc)?);
        }
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    if names.is_empty() {
        println!(
            "no models in {} (train them: reviewlake train)",
            store.location()
        );
        return Ok(());
    }
    println!(
        "{:<10} {:>7} {:>8} {:>9} {:>13} {:>10}  {:<24} created",
        "model", "current", "versions", "rows", "cost", "silhouette", "cluster sizes"
    );
    for name in &names {
        let versions = store.versions(name).await?.len();
        let line = match store.load(name).await {
            Ok(model) => {
                let d = &model.doc;
                format!(
                    "{:<10} {:>7} {:>8} {:>9} {:>13.6e} {:>10}  {:<24} {}",
                    name,
                    d.version,
                    versions,
                    d.rows_used,
                    d.cost,
                    d.silhouette.map_or("-".into(), |s| format!("{s:.4}")),
                    format!("{:?}", d.cluster_sizes),
                    d.created_at
                )
            }
            Err(e) => format!("{name:<10} unreadable: {e}"),
        };
        println!("{line}");
    }
    Ok(())
}

pub(crate) async fn predict(args: PredictArgs) -> anyhow::Result<()> {
    let store = args.models.store(&args.lake)?;
    let model = store.load(&args.model).await?;
    let length = match (&args.text, args.length) {
        (Some(text), _) => text.chars().count() as f64,
        (None, Some(length)) => length,
        (None, None) => anyhow::bail!("give --length or --text"),
    };
    let features = [args.rating, args.likes, length];
    let cluster = model.predict(&features);
    match args.format {
        OutputFormat::Json => println!(
            "{}",
            json!({"prediction": cluster, "model": model.doc.name, "version": model.doc.version})
        ),
        OutputFormat::Table => println!(
            "{} v{}: cluster {cluster} (rating {}, likes {}, length {length}; centroid {:?})",
            model.doc.name,
            model.doc.version,
            args.rating,
            args.likes,
            model.doc.centroids[cluster]
        ),
    }
    Ok(())
}
