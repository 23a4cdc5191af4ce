//! `reviewlake demo`: the whole pipeline on one machine, each stage through the same code as its
//! own subcommand.

use std::{
    path::PathBuf,
    sync::{Arc, atomic::AtomicBool},
    time::Instant,
};

use anyhow::Context;
use arrow::array::AsArray;
use ingest::{DecodeOptions, IngestOptions, KafkaOptions, ProduceOptions};
use lake::{Lake, Query, Workload};
use rdkafka::mocking::MockCluster;

use crate::{
    cli::{
        DemoArgs, LakeArgs, ModelsLocationArgs, ServeArgs, SqlDirArgs, TableVersionArgs, TrainArgs,
    },
    cmd, signals,
};

/// librdkafka's mock broker keeps only about 5 MB of the newest records per partition (it deletes
/// older log segments), so the embedded broker spreads the reviews over enough partitions to keep
/// every one: about 10,000 reviews per partition, and 32 partitions for a CSV file.
const PER_PARTITION: u64 = 10_000;
const CSV_PARTITIONS: i32 = 32;

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let lake = Lake::open(&args.lake.lake)?;
    let files = args.sql_dir.files();
    let topic = args.topic.clone();
    let have = lake_rows(&lake, &files, &topic).await?;
    // One handler for the whole run: the first Ctrl-C stops the current stage (or drains the
    // server), a second one exits at once.
    let stop = signals::stop_flag();
    let stopped = || stop.load(std::sync::atomic::Ordering::Relaxed);

    // 1-3. Broker, produce, ingest. A lake that already holds this topic's reviews is reused
    // only when it is whole: with --brokers, ingest first catches up with the topic; with the
    // embedded broker (which starts empty every run, so the rest of an interrupted run is gone),
    // it must hold every review this run would produce.
    if have > 0 {
        let rejected = lake_rejected(&lake, &files, &topic).await?;
        match &args.brokers {
            Some(brokers) => {
                eprintln!(
                    "[1-3/5] the lake at {} holds {have} reviews of topic {topic}; catching up with the brokers at {brokers}",
                    lake.redacted_url()
                );
                let kafka = KafkaOptions {
                    brokers: brokers.clone(),
                    topic: topic.clone(),
                    extra: Vec::new(),
                };
                ingest(&lake, kafka, stop.clone()).await?;
                if stopped() {
                    return Err(stopped_during_ingest(&args, &lake));
                }
            }
            None => {
                let expected = expected_reviews(&args).await?;
                anyhow::ensure!(
                    have + rejected >= expected,
                    "the lake at {} holds {have} reviews (+{rejected} rejected) of the {expected} this demo produces: \
                     an earlier run stopped before ingesting them all, and the embedded broker that held the rest \
                     is gone. Delete the lake to start over, or point the demo at another --lake",
                    lake.redacted_url()
                );
                eprintln!(
                    "[1-3/5] reusing the lake at {}: {have} reviews of topic {topic} (delete it to start over)",
                    lake.redacted_url()
                );
            }
        }
    } else {
        let mock;
        let brokers = match &args.brokers {
            Some(b) => b.clone(),
            None => {
                let partitions = match args.csv {
                    Some(_) => CSV_PARTITIONS,
                    None => args.rows.div_ceil(PER_PARTITION).clamp(2, 256) as i32,
                };
                mock = MockCluster::new(1).context("starting the embedded Kafka broker")?;
                mock.create_topic(&topic, partitions, 1)?;
                eprintln!(
                    "[1/5] embedded Kafka-protocol broker (librdkafka mock cluster) at {}, topic {topic} with {partitions} partitions",
                    mock.bootstrap_servers()
                );
                mock.bootstrap_servers()
            }
        };
        if args.brokers.is_some() {
            eprintln!("[1/5] using the Kafka brokers at {brokers}");
        }
        let kafka = KafkaOptions {
            brokers,
            topic: topic.clone(),
            extra: Vec::new(),
        };
        let sent = produce(&args, kafka.clone(), stop.clone()).await?;
        anyhow::ensure!(!stopped(), "stopped after producing");
        ingest(&lake, kafka, stop.clone()).await?;
        if stopped() {
            return Err(stopped_during_ingest(&args, &lake));
        }
        let landed = lake_rows(&lake, &files, &topic).await?;
        let rejected = lake_rejected(&lake, &files, &topic).await?;
        anyhow::ensure!(
            landed + rejected == sent,
            "sent {sent} reviews but the lake holds {landed} (+{rejected} rejected): the broker \
             dropped records before ingest read them (librdkafka's mock broker keeps about 5 MB \
             per partition); use fewer --rows or a real broker (--brokers)"
        );
    }
    let rows = lake_rows(&lake, &files, &topic).await?;
    anyhow::ensure!(rows > 0, "the lake holds no reviews of topic {topic}");

    // 4. Train: three cohorts of a third of the lake each unless told otherwise.
    let cohort_rows = args.cohort_rows.unwrap_or((rows / 3).max(1));
    eprintln!("[4/5] training the cohorts ({cohort_rows} rows each)");
    let lake_args = || LakeArgs {
        lake: args.lake.lake.clone(),
    };
    cmd::train::run(TrainArgs {
        lake: lake_args(),
        sql_dir: SqlDirArgs {
            sql_dir: args.sql_dir.sql_dir.clone(),
        },
        models: ModelsLocationArgs {
            models_location: None,
        },
        at: TableVersionArgs {
            table_version: None,
            as_of: None,
        },
        names: Vec::new(),
        cohort_rows,
        k: 3,
        seed: 42,
        n_init: 10,
        tolerance: 1e-4,
        max_iter: 300,
        transform: train::TransformKind::None,
        engine: train::Engine::Native,
        threads: 0,
    })
    .await?;
    anyhow::ensure!(!stopped(), "stopped after training");

    // 5. Serve.
    let base = format!("http://{}", args.bind);
    let lake_flag = if args.lake.lake == crate::cli::DEFAULT_LAKE {
        String::new()
    } else {
        format!(" --lake {}", args.lake.lake)
    };
    eprintln!(
        "[5/5] pipeline ready in {:.1} s; serving the models on {base} (Ctrl-C stops)\n\n\
         Open the console: {base}/\n\nTry:\n  curl -s -X POST {base}/predict/model_1 -H 'Content-Type: application/json' -d '{{\"rating\": 4, \"likes\": 15, \"length\": 300}}'\n  \
         curl -s -X POST {base}/predict/model_2 -H 'Content-Type: application/json' -d '{{\"review_rating\": \"1\", \"review_likes\": \"0\", \"review_text\": \"Keeps crashing\"}}'\n  \
         curl -s {base}/models\n  reviewlake sql{lake_flag}          # SQL prompt over the lake\n  reviewlake models{lake_flag}\n",
        started.elapsed().as_secs_f64()
    );
    // `serve`'s own flags and defaults (and REVIEWLAKE_* variables), with the demo's lake and bind.
    let serve_args = {
        use clap::{Args, FromArgMatches};
        let command = ServeArgs::augment_args(clap::Command::new("serve"));
        let matches = command.try_get_matches_from([
            "serve",
            "--lake",
            args.lake.lake.as_str(),
            "--bind",
            args.bind.as_str(),
            // The demo runs on loopback for one person: its console gets the SQL box.
            "--enable-sql",
        ])?;
        ServeArgs::from_arg_matches(&matches)?
    };
    cmd::serve::run(serve_args).await
}

async fn lake_rows(lake: &Lake, files: &lake::SqlFiles, topic: &str) -> anyhow::Result<u64> {
    count(lake, files, "reviews", topic).await
}

async fn lake_rejected(lake: &Lake, files: &lake::SqlFiles, topic: &str) -> anyhow::Result<u64> {
    count(lake, files, "rejected", topic).await
}

async fn count(
    lake: &Lake,
    files: &lake::SqlFiles,
    table: &str,
    topic: &str,
) -> anyhow::Result<u64> {
    let query = Query::open(lake, files, Workload::AdHoc).await?;
    let (_, batches) = query
        .run(&format!(
            "SELECT count(*) FROM {table} WHERE kafka_topic = '{}'",
            topic.replace('\'', "''")
        ))
        .await?;
    Ok(batches
        .first()
        .map(|b| {
            b.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0) as u64
        })
        .unwrap_or(0))
}

/// What to do after a stop during ingest: with `--brokers` the topic still holds the rest; the
/// embedded broker's records are gone with the run.
fn stopped_during_ingest(args: &DemoArgs, lake: &Lake) -> anyhow::Error {
    match args.brokers {
        Some(_) => anyhow::anyhow!(
            "stopped during ingest; run the demo again with the same --brokers to finish"
        ),
        None => anyhow::anyhow!(
            "stopped during ingest: the lake at {} holds part of the reviews and the embedded broker \
             that held the rest is gone with this run; delete the lake to start over",
            lake.redacted_url()
        ),
    }
}

/// How many reviews this demo run produces: `--rows`, or the records of `--csv`.
async fn expected_reviews(args: &DemoArgs) -> anyhow::Result<u64> {
    let Some(path) = args.csv.clone() else {
        return Ok(args.rows);
    };
    tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut n = 0;
        for record in ingest::source::CsvSource::open(&path)? {
            record?;
            n += 1;
        }
        Ok(n)
    })
    .await?
}

async fn produce(
    args: &DemoArgs,
    kafka: KafkaOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<u64> {
    let csv: Option<PathBuf> = args.csv.clone();
    let (rows, seed) = (args.rows, args.seed);
    match &csv {
        Some(path) => eprintln!("[2/5] producing the reviews of {}", path.display()),
        None => eprintln!("[2/5] producing {rows} synthetic reviews (seed {seed})"),
    }
    let options = ProduceOptions {
        kafka,
        rate: 0.0,
        limit: None,
        string_values: false,
    };
    let synthetic = csv.is_none().then_some(rows);
    let summary = cmd::produce::send(options, csv, synthetic, seed, stop).await?;
    eprintln!(
        "      {} messages acknowledged in {:.2} s",
        summary.delivered,
        summary.elapsed.as_secs_f64()
    );
    Ok(summary.delivered)
}

async fn ingest(lake: &Lake, kafka: KafkaOptions, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    eprintln!("[3/5] ingesting into {}", lake.redacted_url());
    let options = IngestOptions {
        kafka,
        group_id: "reviewlake-demo".into(),
        exit_at_end: true,
        max_latency: std::time::Duration::from_secs(1),
        decode: DecodeOptions::default(),
        ..IngestOptions::default()
    };
    let summary = cmd::ingest::consume(lake.clone(), options, stop).await?;
    eprintln!(
        "      {} rows and {} rejected records in {} files, {:.2} s",
        summary.rows,
        summary.rejected,
        summary.files,
        summary.elapsed.as_secs_f64()
    );
    Ok(())
}
