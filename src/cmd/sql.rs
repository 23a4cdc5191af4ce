use std::io::Write;

use anyhow::Context;
use lake::{Lake, Query, Workload};
use rustyline::{DefaultEditor, error::ReadlineError};

use crate::{cli::SqlArgs, output};

pub(crate) async fn run(args: SqlArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake.lake)?;
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
            for statement in split_statements(&text) {
                execute(&query, &statement, args.format).await?;
            }
            Ok(())
        }
        None => prompt(&query, &lake, args.format).await,
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

/// Splits a script on `;` outside quotes and comments; empty statements are dropped.
fn split_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '-' if !single && !double && chars.peek() == Some(&'-') => {
                // Line comment: skip to the end of the line.
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                current.push('\n');
                continue;
            }
            ';' if !single && !double => {
                if !current.trim().is_empty() {
                    out.push(current.trim().to_string());
                }
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// The interactive prompt: statements end with `;` and may span lines; history is kept in
/// `~/.reviewlake_history`.
async fn prompt(query: &Query, lake: &Lake, format: output::ResultFormat) -> anyhow::Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history =
        std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".reviewlake_history"));
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
        for statement in split_statements(&buffer) {
            if let Err(e) = execute(query, &statement, format).await {
                eprintln!("error: {e:#}");
            }
        }
        buffer.clear();
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::split_statements;

    #[test]
    fn statements_split_on_semicolons_outside_quotes_and_comments() {
        let s = split_statements("SELECT ';' AS a; -- c; d\nSELECT 2;;");
        assert_eq!(s, ["SELECT ';' AS a", "SELECT 2"]);
    }
}
