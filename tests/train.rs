//! `reviewlake train`, `models` and `predict` through the binary, on a fixture lake, local and S3.

mod common;

use common::*;
use lake::Lake;
use serde_json::Value;

const ROWS: usize = 300;

fn train(location: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["train", "--lake", location];
    if !extra.contains(&"--cohort-rows") {
        args.extend(["--cohort-rows", "100"]);
    }
    args.extend_from_slice(extra);
    reviewlake().args(&args).output().unwrap()
}

fn models(location: &str) -> Vec<Value> {
    let out = run_ok(&["models", "--lake", location, "--format", "json"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn nearest(centroids: &Value, x: &[f64]) -> usize {
    let dist = |c: &Value| -> f64 {
        c.as_array()
            .unwrap()
            .iter()
            .zip(x)
            .map(|(a, b)| (a.as_f64().unwrap() - b).powi(2))
            .sum()
    };
    let cs = centroids.as_array().unwrap();
    (0..cs.len())
        .min_by(|&a, &b| dist(&cs[a]).total_cmp(&dist(&cs[b])))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn train_list_predict_and_versions_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    for location in lake_locations(dir.path(), &unique("train-lake")) {
        write_rows(&location).await;

        assert_success(&train(&location, &[]));
        let docs = models(&location);
        let names: Vec<&str> = docs.iter().map(|d| d["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["model_1", "model_2", "model_3"], "{location}");
        for d in &docs {
            assert_eq!(d["version"], 1);
            assert_eq!(d["algorithm"]["k"], 3);
            assert_eq!(d["algorithm"]["seed"], 42);
            let used = d["rows_used"].as_u64().unwrap();
            let excluded = d["rows_excluded"].as_u64().unwrap();
            assert_eq!(used + excluded, 100, "{}", d["name"]);
            let sizes: u64 = d["cluster_sizes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_u64().unwrap())
                .sum();
            assert_eq!(sizes, used);
            assert!(d["cost"].as_f64().unwrap() > 0.0);
            assert!(d["silhouette"].as_f64().unwrap() > 0.0);
            assert_eq!(d["lake"]["files"], 12);
            assert!(
                d["cohort"]["sql"]
                    .as_str()
                    .unwrap()
                    .contains("ORDER BY kafka_timestamp")
            );
        }
        // Fixture row 7 has no text, so the first cohort excludes exactly one row.
        assert_eq!(docs[0]["rows_excluded"], 1);
        assert_eq!(docs[1]["rows_excluded"], 0);

        // predict = the nearest stored centroid.
        for x in [
            [4.0, 15.0, 300.0],
            [1.0, 0.0, 2.0],
            [5.0, 800.0, 10.0],
            [3.0, 200.0, 6.0],
        ] {
            for d in &docs {
                let p = predict_json(&["--lake", &location], d["name"].as_str().unwrap(), x);
                assert_eq!(
                    p["prediction"],
                    nearest(&d["model_centroids"], &x),
                    "{x:?} {}",
                    d["name"]
                );
                assert_eq!(p["version"], 1);
            }
        }

        // Same lake, cohort and parameters: same centroids, as a new version.
        assert_success(&train(&location, &["--models", "model_1"]));
        let again = models(&location);
        assert_eq!(again[0]["version"], 2);
        assert_eq!(again[0]["centroids"], docs[0]["centroids"]);
        assert_eq!(again[1]["version"], 1, "only model_1 was asked for");

        // A cohort with fewer rows than k fails, names the cohort and its row count, and leaves
        // the current version alone; the other cohorts still get their new version.
        let out = train(&location, &["--cohort-rows", "149"]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("model_3") && err.contains("has 2 usable rows"),
            "{err}"
        );
        let after = models(&location);
        assert_eq!(
            after
                .iter()
                .map(|d| d["version"].as_u64().unwrap())
                .collect::<Vec<_>>(),
            [3, 2, 1]
        );
        let out = train(
            &location,
            &["--cohort-rows", "100000", "--models", "model_2"],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("model_2") && err.contains("has 0 usable rows"),
            "{err}"
        );
        assert_eq!(models(&location)[1]["version"], 2);

        // An unknown model name is refused before anything is read.
        let out = reviewlake()
            .args([
                "predict",
                "../model_1",
                "--lake",
                &location,
                "--rating",
                "1",
                "--likes",
                "1",
                "--length",
                "1",
            ])
            .output()
            .unwrap();
        assert!(String::from_utf8_lossy(&out.stderr).contains("invalid model name"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transform_is_stored_and_applied_when_predicting() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    let models_at = dir.path().join("models").to_str().unwrap().to_string();
    write_rows(&location).await;
    assert_success(&train(
        &location,
        &[
            "--models",
            "model_2",
            "--transform",
            "standard",
            "--models-location",
            &models_at,
        ],
    ));
    let out = run_ok(&[
        "models",
        "--models-location",
        &models_at,
        "--format",
        "json",
    ]);
    let docs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let d = &docs[0];
    assert_eq!(d["transform"]["kind"], "standard");
    let mean: Vec<f64> = d["transform"]["mean"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let std: Vec<f64> = d["transform"]["std"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // Raw centroids are the model-space ones mapped back.
    for (raw, model) in d["centroids"]
        .as_array()
        .unwrap()
        .iter()
        .zip(d["model_centroids"].as_array().unwrap())
    {
        for j in 0..3 {
            let back = model[j].as_f64().unwrap() * std[j] + mean[j];
            assert!((back - raw[j].as_f64().unwrap()).abs() < 1e-6);
        }
    }
    for x in [
        [4.0, 15.0, 300.0],
        [1.0, 0.0, 2.0],
        [5.0, 800.0, 10.0],
        [2.0, 40.0, 9.0],
    ] {
        let z: Vec<f64> = (0..3).map(|j| (x[j] - mean[j]) / std[j]).collect();
        let p = predict_json(&["--models-location", &models_at], "model_2", x);
        assert_eq!(p["prediction"], nearest(&d["model_centroids"], &z), "{x:?}");
    }
    // The version folder holds the document, plot, report and lineage; the pointer names it.
    let versions = std::fs::read_dir(dir.path().join("models/models/model_2/versions"))
        .unwrap()
        .count();
    assert_eq!(versions, 1);
    let current: Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("models/models/model_2/CURRENT")).unwrap(),
    )
    .unwrap();
    let folder = dir
        .path()
        .join("models")
        .join(current["dir"].as_str().unwrap());
    for f in ["model.json", "plot.svg", "report.md", "lineage.json"] {
        assert!(folder.join(f).is_file(), "{f}");
    }
    let svg = std::fs::read_to_string(folder.join("plot.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("C0") && svg.contains("length"));
    let lineage: Vec<Value> =
        serde_json::from_slice(&std::fs::read(folder.join("lineage.json")).unwrap()).unwrap();
    assert_eq!(lineage.len(), 12);
}

/// A model records the `reviews` table version its cohort read, and training again at that
/// version (`--table-version`) after more data landed gives the same centroids.
#[tokio::test(flavor = "multi_thread")]
async fn training_at_a_recorded_table_version_reproduces_the_model() {
    let (_dir, location, lake) = temp_lake();
    let rows = fixture_rows(ROWS);
    write_fixture(&lake, "netflix-reviews", &rows[..200], 25).await;
    // One cohort holding the whole lake, so that new rows change it.
    let whole = ["--models", "model_1", "--cohort-rows", "1000"];
    let current = |location: &str| models(location)[0].clone();
    assert_success(&train(&location, &whole));
    let first = current(&location);
    let version = first["lake"]["table_version"]
        .as_u64()
        .expect("the version read");

    write_fixture(&lake, "netflix-reviews", &rows[200..], 25).await;
    assert_success(&train(&location, &whole));
    let grown = current(&location);
    assert!(grown["lake"]["table_version"].as_u64().unwrap() > version);
    assert_ne!(
        grown["centroids"], first["centroids"],
        "the new rows move the centroids"
    );

    let mut again = whole.to_vec();
    let at = version.to_string();
    again.extend(["--table-version", &at]);
    assert_success(&train(&location, &again));
    let reproduced = current(&location);
    assert_eq!(
        reproduced["lake"]["table_version"],
        first["lake"]["table_version"]
    );
    assert_eq!(reproduced["centroids"], first["centroids"]);
    assert_eq!(reproduced["cost"], first["cost"]);
}

/// The training fixture, `ROWS` reviews in files of 25, written into the lake at `location`.
async fn write_rows(location: &str) {
    let lake = Lake::open(location).unwrap();
    write_fixture(&lake, "netflix-reviews", &fixture_rows(ROWS), 25).await;
}
