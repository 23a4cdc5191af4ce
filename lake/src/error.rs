use object_store::path::Path;

/// Everything that can go wrong reading or writing the lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake location could not be understood.
    #[error("invalid lake location {location:?}: {reason}")]
    Location { location: String, reason: String },

    /// The object store refused or failed an operation on a key.
    #[error("object store error on {key}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },

    /// A Parquet file could not be encoded or decoded.
    #[error("parquet error in {key}")]
    Parquet {
        key: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// An Arrow array could not be built.
    #[error("arrow error")]
    Arrow(#[from] arrow::error::ArrowError),

    /// A file in the lake does not carry the metadata the layout requires.
    #[error("{key}: {reason}")]
    Corrupt { key: String, reason: String },

    /// A topic name that cannot be used as a folder name.
    #[error(
        "topic {0:?} is not a valid Kafka topic name (allowed: letters, digits, '.', '_', '-')"
    )]
    InvalidTopic(String),

    /// A SQL statement failed to plan or run.
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),

    /// The statement would change something; the SQL interface only reads.
    #[error(
        "refused: {0} writes, and the lake is read-only here; only queries (SELECT, EXPLAIN, SHOW, DESCRIBE) run"
    )]
    ReadOnly(String),

    /// A `.sql` file could not be read or used.
    #[error("{file}: {reason}")]
    Sql { file: String, reason: String },

    /// A Delta table operation failed.
    #[error("{table} table: {step}")]
    Delta {
        table: crate::Table,
        step: &'static str,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },

    /// The lake was written before its tables were Delta tables.
    #[error(
        "{location} holds a lake in the old layout (Parquet files without a Delta log); run `reviewlake lake migrate --lake {location}` once to turn it into Delta tables"
    )]
    OldLayout { location: String },
}

impl Error {
    pub(crate) fn delta(
        table: crate::Table,
        step: &'static str,
        source: deltalake::DeltaTableError,
    ) -> Self {
        Error::Delta {
            table,
            step,
            source: Box::new(source),
        }
    }

    pub(crate) fn store(key: &Path, source: object_store::Error) -> Self {
        Error::Store {
            key: key.to_string(),
            source,
        }
    }
}

/// Result with the lake's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and its causes on one line, each said once: every message says its own step and
/// leaves the cause to its source, but some libraries (DataFusion among them) repeat their
/// source in their own message, so a cause whose text the line already holds is left out.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        // A cause already said, whole or after its own prefix (DataFusion's SQL errors show
        // their parser error's Debug form, whose source then says it again as "sql parser
        // error: ...").
        let said = line.contains(&text)
            || text
                .split_once(": ")
                .is_some_and(|(_, rest)| line.contains(rest));
        if !said {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_says_each_cause_once() {
        let io = std::io::Error::other("disk on fire");
        let e = Error::Store {
            key: "reviews/x.parquet".into(),
            source: object_store::Error::Generic {
                store: "test",
                source: Box::new(io),
            },
        };
        let line = error_chain(&e);
        assert_eq!(line.matches("disk on fire").count(), 1, "{line}");
        assert!(
            line.starts_with("object store error on reviews/x.parquet: "),
            "{line}"
        );
    }

    #[test]
    fn a_sql_parser_error_is_said_once() {
        let e = Error::from(datafusion::error::DataFusionError::SQL(
            Box::new(
                datafusion::sql::sqlparser::parser::ParserError::ParserError(
                    "Expected: an SQL statement, found: 0".into(),
                ),
            ),
            None,
        ));
        let line = error_chain(&e);
        assert_eq!(
            line.matches("Expected: an SQL statement").count(),
            1,
            "{line}"
        );
    }
}
