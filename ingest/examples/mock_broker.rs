//! A fast broker for the ingest benchmark (bench/fast_broker.sh): librdkafka's mock cluster, which
//! keeps partitions in memory and serves fetches from C, so that the broker costs far less than
//! the consumer it feeds. It holds about 5 MB or 100,000 batches per partition and drops older
//! ones beyond that, so a topic needs a partition per 10,000 or so reviews.
//!
//! `mock_broker TOPIC PARTITIONS`: creates the topic, prints `bootstrap.servers` on one line, and
//! serves until its standard input closes.

use std::io::Read;

use rdkafka::mocking::MockCluster;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, topic, partitions] = &args[..] else {
        eprintln!("usage: mock_broker TOPIC PARTITIONS");
        std::process::exit(2);
    };
    let partitions: i32 = partitions.parse().expect("PARTITIONS is a number");
    let mock = MockCluster::new(1).expect("mock cluster");
    mock.create_topic(topic, partitions, 1)
        .expect("topic created");
    println!("{}", mock.bootstrap_servers());
    // Serve until the caller closes our standard input (or dies, which closes it).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}
