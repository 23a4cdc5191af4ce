//! Faults during ingest lose and duplicate nothing: the S3 server frozen for 30 s, and the
//! broker going down and coming back. Each test runs its own server (a private moto, or
//! librdkafka's mock cluster), so freezing it disturbs no other test.

mod common;

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;

/// A moto S3 server of this test's own, with one bucket; killed on drop.
struct PrivateS3 {
    server: Child,
    endpoint: String,
}

impl PrivateS3 {
    fn start(bucket: &str) -> Self {
        let addr = free_loopback_addr();
        let port = addr.rsplit_once(':').unwrap().1.to_string();
        let server = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (scripts/services.sh up installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
        // CreateBucket: moto checks no signature.
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        Self {
            server,
            endpoint: format!("http://{addr}"),
        }
    }

    /// `reviewlake` pointed at this server.
    fn reviewlake(&self) -> Command {
        let mut cmd = reviewlake();
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "fault-test")
            .env("AWS_SECRET_ACCESS_KEY", "fault-test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ALLOW_HTTP", "true");
        cmd
    }

    fn signal(&self, sig: &str) {
        signal(&self.server, sig);
    }
}

impl Drop for PrivateS3 {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// `(offset, count)` of `table` as `reviewlake sql` reads it from `location`.
fn offsets(cmd: impl Fn() -> Command, location: &str) -> Vec<i64> {
    let out = cmd()
        .args(["sql", "--lake", location, "--format", "json"])
        .arg("SELECT kafka_offset AS o FROM reviews UNION ALL SELECT kafka_offset AS o FROM rejected ORDER BY 1")
        .output()
        .unwrap();
    assert_success(&out);
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter().map(|r| r["o"].as_i64().unwrap()).collect()
}

/// The S3 server stops answering for 30 s in the middle of an ingest (SIGSTOP: connections
/// hang, as with a stalled network or server), then comes back. Ingest waits and finishes, or
/// exits non-zero and a restart finishes: either way every offset is in the lake exactly once.
#[test]
fn an_s3_outage_of_30_s_during_ingest_loses_and_duplicates_nothing() {
    if !have(Needs::Moto) {
        return;
    }
    const N: i64 = 6_000;
    let topic = unique("s3-outage");
    let (_mock, brokers) = mock_topic(&topic, 1, N);
    let s3 = PrivateS3::start("faults");
    let location = format!("s3://faults/{topic}");
    let ingest = || {
        let mut cmd = s3.reviewlake();
        cmd.args(["ingest", "--brokers", &brokers, "--topic", &topic])
            .args(["--lake", &location, "--group", "faults", "--exit-at-end"])
            .args(["--batch-rows", "100", "--commit-files", "2"])
            .args(["--max-latency", "200ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    };
    let mut first = Running::new(ingest().spawn().unwrap());
    // Freeze the store once the first commits landed.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no commit within 60 s");
        let out = s3
            .reviewlake()
            .args(["lake", "history", "--lake", &location, "--format", "json"])
            .output()
            .unwrap();
        if out.status.success()
            && String::from_utf8_lossy(&out.stdout)
                .matches("\"version\"")
                .count()
                >= 4
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    s3.signal("-STOP");
    let frozen = Instant::now();
    std::thread::sleep(Duration::from_secs(30));
    s3.signal("-CONT");
    let status = first.child().wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(first.child().stderr.as_mut().unwrap(), &mut stderr).unwrap();
    eprintln!(
        "first ingest: {status} after {:.1} s of outage and recovery\n{stderr}",
        frozen.elapsed().as_secs_f64()
    );
    if !status.success() {
        let again = ingest().output().unwrap();
        assert!(
            again.status.success(),
            "the restart failed: {}",
            String::from_utf8_lossy(&again.stderr)
        );
    }
    let seen = offsets(|| s3.reviewlake(), &location);
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "each offset exactly once");
}

/// The broker goes down in the middle of an ingest and comes back 5 s later (librdkafka's mock
/// cluster drops every connection and refuses new ones meanwhile). Ingest reconnects and
/// finishes; every offset is in the lake exactly once. (6,000 reviews: the mock broker keeps
/// only about 5 MB of a partition.)
#[tokio::test(flavor = "multi_thread")]
async fn a_broker_restart_during_ingest_loses_and_duplicates_nothing() {
    const N: i64 = 6_000;
    let topic = unique("broker-restart");
    let (mock, brokers) = mock_topic(&topic, 1, N);
    let (dir, location, lake) = temp_lake();
    let log = dir.path().join("ingest.log");
    let mut child = Running::new(
        reviewlake()
            .args(["ingest", "--brokers", &brokers, "--topic", &topic])
            .args(["--lake", &location, "--group", "faults", "--exit-at-end"])
            .args(["--batch-rows", "50", "--commit-files", "1"])
            .args(["--max-latency", "200ms"])
            .env("REVIEWLAKE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed_rows(&lake).await < 1_000 {
        assert!(Instant::now() < deadline, "no progress within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    mock.broker_down(1).unwrap();
    let at_outage = committed_rows(&lake).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    mock.broker_up(1).unwrap();
    let status = child.child().wait().unwrap();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status}\n{log}");
    assert!(at_outage < N, "the outage came after the end of the topic");
    assert_each_offset_once(&location, N);
}
