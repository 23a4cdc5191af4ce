//! On a local lake, a commit never reaches the disk before the data it names: traced with
//! `strace` (system calls, in order), every new data file is `fsync`ed, and its folder too,
//! before the Delta commit that adds it is linked into `_delta_log/`, and the commit itself is
//! `fsync`ed before it is linked and its folder after.

mod common;

use common::*;

/// One traced call: its name and the paths in its arguments (`strace -y` prints each file
/// descriptor's path).
#[derive(Debug)]
struct Call {
    name: String,
    paths: Vec<String>,
}

fn parse(trace: &str) -> Vec<Call> {
    trace
        .lines()
        .filter_map(|line| {
            // "[pid N] " may come first with -f.
            let line = line.trim_start_matches(|c: char| c != 'f' && c != 'l' && c != 'r');
            let (name, args) = line.split_once('(')?;
            if ![
                "fsync",
                "fdatasync",
                "linkat",
                "renameat",
                "renameat2",
                "rename",
                "link",
            ]
            .contains(&name)
            {
                return None;
            }
            let mut paths = Vec::new();
            for part in args.split(['<', '"']).skip(1).step_by(2) {
                let end = part.find(['>', '"']).unwrap_or(part.len());
                paths.push(part[..end].to_string());
            }
            Some(Call {
                name: name.to_string(),
                paths,
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_commit_is_fsynced_after_its_data_files() {
    if !have(Needs::Strace) {
        return;
    }
    let (dir, location, lake) = temp_lake();
    write_fixture(&lake, "netflix-reviews", &fixture_rows(40), 5).await;
    let trace = dir.path().join("trace");
    let out = std::process::Command::new("strace")
        .args(["-f", "-qq", "-y", "-e"])
        .arg("trace=fsync,fdatasync,link,linkat,rename,renameat,renameat2")
        .arg("-o")
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_reviewlake"))
        .args(compact_args(&location, "1000"))
        .env("REVIEWLAKE_LOG", "warn")
        .output()
        .expect("strace is needed (scripts/services.sh install puts it in)");
    assert_success(&out);
    let calls = parse(&std::fs::read_to_string(&trace).unwrap());
    // The compaction's commit: the link of the newest reviews/_delta_log/N.json.
    // A link into `<table>/<folder>` of a name ending in `suffix`.
    let linked = |c: &Call, folder: &str, suffix: &str| {
        c.name.starts_with("link")
            && c.paths
                .last()
                .is_some_and(|p| p.contains(folder) && p.ends_with(suffix))
    };
    let commit_at = calls
        .iter()
        .rposition(|c| linked(c, "/reviews/_delta_log/", ".json"))
        .unwrap_or_else(|| panic!("no commit linked in the trace: {calls:#?}"));
    let commit = calls[commit_at].paths.last().unwrap().clone();
    // An fsync, before call `before`, of the file at `path` (`exact`) or of a staging name of it
    // (`path#digits`).
    let synced = |path: &str, before: usize, exact: bool| {
        calls[..before].iter().any(|c| {
            c.name.contains("sync")
                && c.paths.first().is_some_and(|p| {
                    if exact {
                        p == path
                    } else {
                        p.starts_with(&format!("{path}#"))
                    }
                })
        })
    };
    let data: Vec<&String> = calls[..commit_at]
        .iter()
        .filter(|c| linked(c, "/reviews/", ".parquet"))
        .map(|c| c.paths.last().unwrap())
        .collect();
    assert!(
        !data.is_empty(),
        "the compaction wrote no data file: {calls:#?}"
    );
    for file in data {
        assert!(
            synced(file, commit_at, false),
            "{file} was not fsynced before {commit}"
        );
        let folder = file.rsplit_once('/').unwrap().0;
        assert!(
            synced(folder, commit_at, true),
            "{folder} was not fsynced before {commit}"
        );
    }
    assert!(
        synced(&commit, commit_at, false),
        "{commit} was linked before it was fsynced"
    );
    let log = commit.rsplit_once('/').unwrap().0;
    assert!(
        synced(log, calls.len(), true),
        "{log} was not fsynced after the commit"
    );
}
