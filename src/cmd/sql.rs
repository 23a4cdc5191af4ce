use std::{
    io::{IsTerminal, Write},
    time::Instant,
};

use anyhow::Context;
use lake::{Lake, Query, TableVersion, Workload};
use rustyline::{DefaultEditor, error::ReadlineError};

use crate::{cli::SqlArgs, output};

pub(crate) async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let query = Query::open_at(
        &lake,
        &args.sql_dir.files(),
        Workload::AdHoc,
        args.at.version(),
    )
    .await?;
    let text = match (&args.query, &args.file) {
        (Some(q), _) => Some(q.clone()),
        (None, Some(f)) => {
            Some(std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?)
        }
        (None, None) => None,
    };
    match text {
        Some(text) => {
            for statement in Query::split_statements(&text)? {
                let started = Instant::now();
                execute(&query, &statement, args.format).await?;
                report_time(args.timing, started);
            }
            // The process ends here. It leaves at once rather than tearing down what it built:
            // freeing the snapshot and its per-file statistics one allocation at a time took
            // 6 ms of a 3,000-file count, and joining the runtime's threads and handing the
            // allocator's pages back one by one about 0.7 ms of every count (BENCHMARKS.md,
            // "Start-up and the page cache", "Where one process's 20 ms go"). The exit returns
            // all of it at once; the results are written and flushed above (stderr is unbuffered).
            std::process::exit(0)
        }
        None => prompt(query, &lake, &args).await,
    }
}

/// With `--timing`, the wall time since `started` on stderr, as `time: 12.345 ms`.
fn report_time(timing: bool, started: Instant) {
    if timing {
        eprintln!("time: {:.3} ms", started.elapsed().as_secs_f64() * 1e3);
    }
}

async fn execute(query: &Query, sql: &str, format: output::ResultFormat) -> anyhow::Result<()> {
    let (schema, batches) = query.run(sql).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    output::write(&mut out, format, &schema, &batches)?;
    out.flush()?;
    Ok(())
}

/// The interactive prompt: statements end with `;` and may span lines; history is kept in
/// `~/.reviewlake_history` when the statements come from a terminal. Each statement reads the
/// lake's latest snapshot (new commits, a compaction's files: only the commits since the
/// previous statement are read), unless `--table-version` or `--as-of` pinned one.
async fn prompt(mut query: Query, lake: &Lake, args: &SqlArgs) -> anyhow::Result<()> {
    let format = args.format;
    let pinned = !matches!(args.at.version(), TableVersion::Latest);
    let mut editor = DefaultEditor::new()?;
    // Statements piped in (a script, a benchmark) are not typed: they stay out of the history.
    let history = std::io::stdin()
        .is_terminal()
        .then(|| std::env::var_os("HOME"))
        .flatten()
        .map(|h| std::path::PathBuf::from(h).join(".reviewlake_history"));
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "reviewlake SQL on {} — tables: reviews, rejected. End statements with ';', \\q to quit.",
        lake.redacted_url()
    );
    let mut buffer = String::new();
    loop {
        let line = match editor.readline(if buffer.is_empty() {
            "reviewlake> "
        } else {
            "        ...> "
        }) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && matches!(trimmed, "\\q" | "quit" | "exit") {
            break;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let _ = editor.add_history_entry(buffer.trim());
        let statements = match Query::split_statements(&buffer) {
            Ok(statements) => statements,
            Err(e) => {
                eprintln!("error: {}", lake::error_chain(&e));
                buffer.clear();
                continue;
            }
        };
        for statement in statements {
            let started = Instant::now();
            if !pinned {
                // Only the commits made since the previous statement are read.
                let files = args.sql_dir.files();
                match Query::open_since(lake, &files, Workload::AdHoc, query.snapshot()).await {
                    Ok(latest) => query = latest,
                    Err(e) => eprintln!(
                        "warning: cannot read the latest snapshot, querying the previous one: {}",
                        lake::error_chain(&e)
                    ),
                }
            }
            if let Err(e) = execute(&query, &statement, format).await {
                eprintln!("error: {}", lake::error_chain(&*e));
            }
            report_time(args.timing, started);
        }
        buffer.clear();
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}
