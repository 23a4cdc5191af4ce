use anyhow::Context;
use ingest::{ProduceOptions, ReviewRecord, source};

use crate::{cli::ProduceArgs, signals};

pub(crate) async fn run(args: ProduceArgs) -> anyhow::Result<()> {
    let options = ProduceOptions {
        kafka: args.kafka.options(),
        rate: args.rate,
        limit: args.limit,
        string_values: args.string_values,
        progress: true,
    };
    let stop = signals::stop_flag();
    let summary = tokio::task::spawn_blocking(move || {
        let (records, total): (Box<dyn Iterator<Item = ingest::Result<ReviewRecord>>>, _) =
            match (&args.csv, args.synthetic) {
                (Some(path), _) => (Box::new(source::CsvSource::open(path)?), None),
                (None, Some(n)) => (
                    Box::new(source::SyntheticSource::new(n, args.seed)),
                    Some(n),
                ),
                (None, None) => {
                    return Err(ingest::Error::Config(
                        "give --csv FILE or --synthetic N".into(),
                    ));
                }
            };
        ingest::produce(&options, records, total, &stop)
    })
    .await
    .context("producer thread panicked")??;
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    println!(
        "produced {} messages in {:.2} s ({:.0} msg/s), all acknowledged",
        summary.delivered,
        secs,
        summary.delivered as f64 / secs
    );
    Ok(())
}
