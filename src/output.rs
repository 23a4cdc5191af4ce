//! Printing query results as a table, CSV, a JSON array or newline-delimited JSON.

use std::io::Write;

use std::sync::Arc;

use arrow::{
    array::{ArrayRef, AsArray, RecordBatch, StringArray},
    datatypes::{DataType, Field, Schema, SchemaRef},
    error::ArrowError,
};
use clap::ValueEnum;

/// Result formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResultFormat {
    Table,
    Csv,
    Json,
    Ndjson,
}

/// Writes `batches` to `out` in `format`.
pub(crate) fn write(
    out: &mut dyn Write,
    format: ResultFormat,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> anyhow::Result<()> {
    match format {
        ResultFormat::Table => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                writeln!(out, "({}) 0 rows", names.join(", "))?;
            } else {
                let shown = batches
                    .iter()
                    .map(escape_controls)
                    .collect::<Result<Vec<_>, _>>()?;
                writeln!(
                    out,
                    "{}",
                    arrow::util::pretty::pretty_format_batches(&shown)?
                )?;
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
            }
        }
        ResultFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(out);
            if batches.is_empty() {
                w.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for b in batches {
                w.write(b)?;
            }
        }
        ResultFormat::Json => {
            if batches.iter().all(|b| b.num_rows() == 0) {
                // arrow's writer prints `[]` itself for some empty inputs and nothing for others.
                write!(out, "[]")?;
            } else {
                let mut w = arrow::json::ArrayWriter::new(&mut *out);
                for b in batches {
                    w.write(b)?;
                }
                w.finish()?;
            }
            writeln!(out)?;
        }
        ResultFormat::Ndjson => {
            let mut w = arrow::json::LineDelimitedWriter::new(out);
            for b in batches {
                w.write(b)?;
            }
            w.finish()?;
        }
    }
    Ok(())
}

/// `batch` with every control character in its text columns written as an escape (`\\n`,
/// `\\u{1b}`), bidirectional overrides included: a table goes to a terminal, and review text
/// comes from whoever produced to the topic, so it must not move the cursor, recolour the
/// screen or reorder what is shown. CSV and JSON keep the data as it is (they escape by their
/// own rules).
fn escape_controls(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let needs =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut changed = false;
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let text: Option<Vec<Option<&str>>> = match column.data_type() {
            DataType::Utf8 => Some(column.as_string::<i32>().iter().collect()),
            DataType::LargeUtf8 => Some(column.as_string::<i64>().iter().collect()),
            DataType::Utf8View => Some(column.as_string_view().iter().collect()),
            _ => None,
        };
        match text {
            Some(values) if values.iter().flatten().any(|v| v.chars().any(needs)) => {
                changed = true;
                let escaped: StringArray = values
                    .iter()
                    .map(|v| {
                        v.map(|v| {
                            v.chars()
                                .map(|c| {
                                    if needs(c) {
                                        c.escape_default().to_string()
                                    } else {
                                        c.to_string()
                                    }
                                })
                                .collect::<String>()
                        })
                    })
                    .collect();
                fields.push(Field::new(
                    field.name(),
                    DataType::Utf8,
                    field.is_nullable(),
                ));
                columns.push(Arc::new(escaped) as ArrayRef);
            }
            _ => {
                fields.push(field.as_ref().clone());
                columns.push(column.clone());
            }
        }
    }
    if !changed {
        return Ok(batch.clone());
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_output_escapes_terminal_controls_and_keeps_the_rest() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("text", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![
                    Some("\u{1b}[2J\u{1b}]0;pwned\u{7}red\u{202e}txt"),
                    Some("héllo, wörld"),
                    None,
                ])),
                Arc::new(arrow::array::Int64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let mut out = Vec::new();
        write(&mut out, ResultFormat::Table, &schema, &[batch]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{202e}'),
            "{text}"
        );
        assert!(text.contains("\\u{1b}[2J"), "{text}");
        assert!(text.contains("héllo, wörld"), "{text}");
    }

    /// An empty result is one empty JSON array, whether the query returned no batch or empty ones.
    #[test]
    fn an_empty_json_result_is_an_empty_array() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        for batches in [vec![], vec![RecordBatch::new_empty(schema.clone())]] {
            let mut out = Vec::new();
            write(&mut out, ResultFormat::Json, &schema, &batches).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
        }
    }
}
