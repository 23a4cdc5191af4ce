//! The broker's ceiling for the ingest benchmark: a librdkafka consumer in a group that reads a
//! topic to its end and does nothing else with the messages.
//!
//! `cargo run --release -p ingest --example bare_consumer -- BROKERS TOPIC GROUP`

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use rdkafka::{
    ClientConfig, Message,
    consumer::{BaseConsumer, Consumer},
    error::KafkaError,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, topic, group] = &args[..] else {
        eprintln!("usage: bare_consumer BROKERS TOPIC GROUP");
        std::process::exit(2);
    };
    let started = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "100")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let partitions = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .expect("metadata")
        .topics()[0]
        .partitions()
        .len();
    let (mut messages, mut bytes) = (0u64, 0u64);
    let mut at_end = HashSet::new();
    while at_end.len() < partitions {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                messages += 1;
                bytes += m.payload().map_or(0, |p| p.len() as u64);
                at_end.remove(&m.partition());
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
            }
            Some(Err(e)) => eprintln!("warning: {e}"),
            None => {}
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"messages\": {messages}, \"bytes\": {bytes}, \"seconds\": {secs:.3}, \"rows_per_sec\": {:.0}}}",
        messages as f64 / secs
    );
}
