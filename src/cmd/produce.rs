use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
};

use anyhow::Context;
use ingest::{ProduceOptions, ProduceSummary, ReviewRecord, source};

use crate::{cli::ProduceArgs, signals};

pub(crate) async fn run(args: ProduceArgs) -> anyhow::Result<()> {
    let options = ProduceOptions {
        kafka: args.kafka.options(),
        rate: args.rate,
        limit: args.limit,
        string_values: args.string_values,
    };
    let summary = send(
        options,
        args.csv,
        args.synthetic,
        args.seed,
        signals::stop_flag(),
    )
    .await?;
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    println!(
        "produced {} messages in {:.2} s ({:.0} msg/s), all acknowledged",
        summary.delivered,
        secs,
        summary.delivered as f64 / secs
    );
    Ok(())
}

/// Sends the reviews of a CSV file, or `synthetic` generated ones, on a blocking thread.
pub(crate) async fn send(
    options: ProduceOptions,
    csv: Option<PathBuf>,
    synthetic: Option<u64>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ProduceSummary> {
    Ok(tokio::task::spawn_blocking(move || {
        let (records, total): (Box<dyn Iterator<Item = ingest::Result<ReviewRecord>>>, _) =
            match (&csv, synthetic) {
                (Some(path), _) => (Box::new(source::CsvSource::open(path)?), None),
                (None, Some(n)) => (Box::new(source::SyntheticSource::new(n, seed)), Some(n)),
                (None, None) => {
                    return Err(ingest::Error::Config(
                        "give --csv FILE or --synthetic N".into(),
                    ));
                }
            };
        ingest::produce(
            &options,
            records,
            total,
            &stop,
            &mut *crate::progress::shown(),
        )
    })
    .await
    .context("producer thread panicked")??)
}
