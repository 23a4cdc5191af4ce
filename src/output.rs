//! Printing query results as a table, CSV, a JSON array or newline-delimited JSON.

use std::io::Write;

use arrow::{array::RecordBatch, datatypes::SchemaRef};
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
                writeln!(
                    out,
                    "{}",
                    arrow::util::pretty::pretty_format_batches(batches)?
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

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
