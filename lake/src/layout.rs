//! The one place that builds and parses object keys.
//!
//! ```text
//! reviews/topic={topic}/partition={partition}/{first:020}-{last:020}-{tag}.parquet
//! rejected/topic={topic}/partition={partition}/{first:020}-{last:020}-{tag}.parquet
//! ```
//!
//! A file's key names the topic and partition its records came from and the first and last Kafka
//! offset it covers (zero-padded, so keys sort by offset), plus a tag unique to the write: two
//! writers never put the same key, and only a Delta commit makes a file part of a table.
//! Lakes written before the tables were Delta tables have untagged keys; they still parse.

use std::fmt;

use object_store::path::Path;

use crate::{Error, Result};

/// The lake's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Accepted reviews.
    Reviews,
    /// Records refused by validation, with their reason.
    Rejected,
}

impl Table {
    /// The folder the table lives in.
    pub fn dir(self) -> &'static str {
        match self {
            Table::Reviews => "reviews",
            Table::Rejected => "rejected",
        }
    }

    /// The folder holding every file of this table.
    pub fn prefix(self) -> Path {
        Path::from(self.dir())
    }

    /// The folder holding one Kafka partition's files.
    pub fn partition_prefix(self, topic: &str, partition: i32) -> Result<Path> {
        check_topic(topic)?;
        Ok(Path::from(format!(
            "{}/topic={topic}/partition={partition}",
            self.dir()
        )))
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir())
    }
}

/// The identity of one data file: table, topic, partition and inclusive offset range.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    pub table: Table,
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    /// Unique to the write that put the file (empty in lakes of the old layout).
    pub tag: String,
}

impl FileKey {
    /// A key for a new file, with a fresh unique tag.
    pub fn new(table: Table, topic: &str, partition: i32, first: i64, last: i64) -> Self {
        FileKey {
            table,
            topic: topic.to_string(),
            partition,
            first_offset: first,
            last_offset: last,
            tag: uuid::Uuid::new_v4().simple().to_string()[..16].to_string(),
        }
    }

    /// The object key of this file, relative to the lake.
    pub fn path(&self) -> Result<Path> {
        let dir = self.table.partition_prefix(&self.topic, self.partition)?;
        Ok(dir.join(self.file_name()))
    }

    /// The file's path relative to its table's folder, as Delta `add` actions name it.
    pub fn table_path(&self) -> Result<String> {
        check_topic(&self.topic)?;
        Ok(format!(
            "topic={}/partition={}/{}",
            self.topic,
            self.partition,
            self.file_name()
        ))
    }

    /// The Delta partition values of this file.
    pub fn partition_values(&self) -> std::collections::HashMap<String, Option<String>> {
        std::collections::HashMap::from([
            ("topic".to_string(), Some(self.topic.clone())),
            ("partition".to_string(), Some(self.partition.to_string())),
        ])
    }

    fn file_name(&self) -> String {
        if self.tag.is_empty() {
            format!("{:020}-{:020}.parquet", self.first_offset, self.last_offset)
        } else {
            format!(
                "{:020}-{:020}-{}.parquet",
                self.first_offset, self.last_offset, self.tag
            )
        }
    }

    /// Parses a path relative to `table`'s folder (a Delta `add` path); with the key, the
    /// file's object path (what [`FileKey::path`] would build again).
    pub fn parse_in(table: Table, path: &str) -> Option<(FileKey, Path)> {
        let location = Path::from(format!("{}/{path}", table.dir()));
        Some((FileKey::parse(&location)?, location))
    }

    /// True when this file's range lies within `other`'s (same table and partition).
    pub fn is_covered_by(&self, other: &FileKey) -> bool {
        self.table == other.table
            && self.topic == other.topic
            && self.partition == other.partition
            && other.first_offset <= self.first_offset
            && self.last_offset <= other.last_offset
    }

    /// Parses an object key written by [`FileKey::path`]. Returns `None` for keys that are not
    /// data files (temporary files, other tools' files).
    pub fn parse(path: &Path) -> Option<FileKey> {
        let mut parts = path.parts();
        let table = match parts.next()?.as_ref() {
            "reviews" => Table::Reviews,
            "rejected" => Table::Rejected,
            _ => return None,
        };
        let topic = parts.next()?.as_ref().strip_prefix("topic=")?.to_string();
        let partition = parts
            .next()?
            .as_ref()
            .strip_prefix("partition=")?
            .parse()
            .ok()?;
        let file = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        let (first, rest) = file.as_ref().strip_suffix(".parquet")?.split_once('-')?;
        let (last, tag) = rest.split_once('-').unwrap_or((rest, ""));
        let tag_ok = tag.bytes().all(|b| b.is_ascii_alphanumeric());
        if first.len() != 20 || last.len() != 20 || !tag_ok {
            return None;
        }
        let (first_offset, last_offset) = (first.parse().ok()?, last.parse().ok()?);
        if first_offset > last_offset || check_topic(&topic).is_err() {
            return None;
        }
        Some(FileKey {
            table,
            topic,
            partition,
            first_offset,
            last_offset,
            tag: tag.to_string(),
        })
    }
}

/// Kafka's own rule for topic names, which also keeps them safe as folder names.
pub(crate) fn check_topic(topic: &str) -> Result<()> {
    let valid = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidTopic(topic.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(first: i64, last: i64) -> FileKey {
        FileKey {
            table: Table::Reviews,
            topic: "netflix-reviews".into(),
            partition: 3,
            first_offset: first,
            last_offset: last,
            tag: String::new(),
        }
    }

    #[test]
    fn tagged_keys_round_trip_and_differ() {
        let a = FileKey::new(Table::Reviews, "t", 0, 5, 9);
        let b = FileKey::new(Table::Reviews, "t", 0, 5, 9);
        assert_ne!(a.path().unwrap(), b.path().unwrap());
        assert_eq!(FileKey::parse(&a.path().unwrap()), Some(a.clone()));
        assert_eq!(
            FileKey::parse_in(Table::Reviews, &a.table_path().unwrap()),
            Some((a.clone(), a.path().unwrap()))
        );
    }

    #[test]
    fn key_is_hive_partitioned_and_zero_padded() {
        assert_eq!(
            key(0, 499).path().unwrap().as_ref(),
            "reviews/topic=netflix-reviews/partition=3/00000000000000000000-00000000000000000499.parquet"
        );
    }

    #[test]
    fn keys_round_trip() {
        let k = key(500, 999);
        assert_eq!(FileKey::parse(&k.path().unwrap()), Some(k));
    }

    #[test]
    fn keys_sort_by_offset() {
        let a = key(9, 99).path().unwrap();
        let b = key(100, 199).path().unwrap();
        assert!(a.as_ref() < b.as_ref());
    }

    #[test]
    fn foreign_and_temporary_keys_are_not_data_files() {
        for k in [
            "reviews/topic=t/partition=0/00000000000000000000-00000000000000000499.parquet#1",
            "reviews/topic=t/partition=0/x.parquet",
            "reviews/topic=t/partition=x/00000000000000000000-00000000000000000499.parquet",
            "models/model_1/current.json",
            "reviews/topic=t/partition=0/00000000000000000499-00000000000000000000.parquet",
        ] {
            assert_eq!(FileKey::parse(&Path::from(k)), None, "{k}");
        }
    }

    #[test]
    fn topic_names_cannot_escape_their_folder() {
        for bad in ["", "..", "a/b", "a b", "ä"] {
            assert!(Table::Reviews.partition_prefix(bad, 0).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn coverage_is_by_range_within_one_partition() {
        assert!(key(0, 10).is_covered_by(&key(0, 499)));
        assert!(!key(0, 500).is_covered_by(&key(0, 499)));
        let mut other = key(0, 499);
        other.partition = 4;
        assert!(!key(0, 10).is_covered_by(&other));
    }
}
