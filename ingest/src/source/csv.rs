//! Reading `NETFLIX_REVIEWS.csv`, matching columns by header name.

use std::{
    fs::File,
    io::BufReader,
    path::{Path, PathBuf},
};

use crate::{Error, Result, record::ReviewRecord};

const COLUMNS: [&str; 8] = [
    "review_id",
    "pseudo_author_id",
    "author_name",
    "review_text",
    "review_rating",
    "review_likes",
    "author_app_version",
    "review_timestamp",
];

/// Rows of a reviews CSV file. Quoted fields may hold commas, quotes and newlines; extra columns
/// (such as a leading unnamed index column) are ignored.
pub struct CsvSource {
    path: PathBuf,
    reader: ::csv::Reader<BufReader<File>>,
    /// Position of each of [`COLUMNS`] in the file.
    index: [usize; 8],
    record: ::csv::StringRecord,
}

impl CsvSource {
    /// Opens the file and checks its header.
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = ::csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .from_reader(BufReader::with_capacity(1 << 20, file));
        let headers = reader.headers().map_err(|e| csv_error(path, &e))?.clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        let mut index = [0; 8];
        for (slot, column) in index.iter_mut().zip(COLUMNS) {
            *slot = names
                .iter()
                .position(|n| n == column)
                .ok_or_else(|| Error::Csv {
                    path: path.to_path_buf(),
                    reason: format!(
                        "missing required column {column:?} in the header (found: {})",
                        names.join(", ")
                    ),
                })?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            index,
            record: ::csv::StringRecord::new(),
        })
    }

    /// Bytes read so far.
    pub fn position(&self) -> u64 {
        self.reader.position().byte()
    }
}

fn csv_error(path: &Path, e: &::csv::Error) -> Error {
    let at = match e.position() {
        Some(p) => format!(
            "record {} (line {}, byte {}): ",
            p.record(),
            p.line(),
            p.byte()
        ),
        None => String::new(),
    };
    let reason = match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => {
            format!("expected {expected_len} fields as in the header, found {len}")
        }
        ::csv::ErrorKind::Utf8 { err, .. } => {
            format!("field {} is not valid UTF-8", err.field() + 1)
        }
        _ => e.to_string(),
    };
    Error::Csv {
        path: path.to_path_buf(),
        reason: format!("{at}{reason}"),
    }
}

impl Iterator for CsvSource {
    type Item = Result<ReviewRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(csv_error(&self.path, &e))),
            Ok(true) => {
                let f = |i: usize| self.record.get(self.index[i]).unwrap_or("").to_string();
                Some(Ok(ReviewRecord {
                    review_id: f(0),
                    pseudo_author_id: f(1),
                    author_name: f(2),
                    review_text: f(3),
                    review_rating: f(4),
                    review_likes: f(5),
                    author_app_version: f(6),
                    review_timestamp: f(7),
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn columns_match_by_name_with_a_leading_index_column() {
        let f = write(
            ",review_timestamp,review_id,pseudo_author_id,author_name,review_text,review_rating,review_likes,author_app_version\n\
             0,2024-01-02 03:04:05,id1,p1,A Google user,\"Good, \"\"really\"\"\nyes\",5,3,8.1.0\n",
        );
        let rows: Vec<_> = CsvSource::open(f.path())
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].review_id, "id1");
        assert_eq!(rows[0].review_text, "Good, \"really\"\nyes");
        assert_eq!(rows[0].review_rating, "5");
        assert_eq!(rows[0].review_timestamp, "2024-01-02 03:04:05");
    }

    #[test]
    fn missing_column_is_named() {
        let f = write("review_id,pseudo_author_id\nx,y\n");
        let err = CsvSource::open(f.path()).err().unwrap().to_string();
        assert!(
            err.contains("missing required column \"author_name\""),
            "{err}"
        );
    }

    #[test]
    fn short_row_reports_record_and_line() {
        let header = COLUMNS.join(",");
        let f = write(&format!(
            "{header}\na,b,c,d,5,0,v,2024-01-01 00:00:00\na,b\n"
        ));
        let mut src = CsvSource::open(f.path()).unwrap();
        assert!(src.next().unwrap().is_ok());
        let err = src.next().unwrap().unwrap_err().to_string();
        assert!(
            err.contains("line 3") && err.contains("expected 8 fields"),
            "{err}"
        );
    }
}
