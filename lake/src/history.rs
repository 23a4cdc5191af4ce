//! `reviewlake lake history`: the commits of a table, newest first.

use deltalake::DeltaTable;
use futures::TryStreamExt;

use crate::{Error, Lake, Result, Snapshot, Table, TableVersion, delta::open};

/// One commit of a table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CommitSummary {
    pub version: u64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: Option<i64>,
    pub operation: String,
    pub files_added: Option<u64>,
    pub rows_added: Option<u64>,
    pub files_removed: Option<u64>,
    pub rows_removed: Option<u64>,
}

/// The last `limit` commits of `table` (all with `None`), newest first.
pub async fn history(
    lake: &Lake,
    table: Table,
    limit: Option<usize>,
) -> Result<Vec<CommitSummary>> {
    match open(lake, table, TableVersion::Latest).await? {
        Some(delta) => commits(&delta, table, limit).await,
        None => Ok(Vec::new()),
    }
}

impl Snapshot {
    /// The last `limit` commits of `table` up to this snapshot's version, newest first, read
    /// from the table the snapshot already opened.
    pub async fn history(&self, table: Table, limit: Option<usize>) -> Result<Vec<CommitSummary>> {
        match self.table(table) {
            Some(delta) => commits(delta, table, limit).await,
            None => Ok(Vec::new()),
        }
    }
}

async fn commits(
    delta: &DeltaTable,
    table: Table,
    limit: Option<usize>,
) -> Result<Vec<CommitSummary>> {
    let latest = delta.version().unwrap_or(0);
    let infos: Vec<_> = delta
        .history(limit)
        .try_collect()
        .await
        .map_err(|e| Error::delta(table, "reading the history", e))?;
    Ok(infos
        .into_iter()
        .enumerate()
        .map(|(i, info)| {
            let ours = info.info.get("reviewlake");
            let figure = |k: &str| ours.and_then(|m| m.get(k)).and_then(|v| v.as_u64());
            CommitSummary {
                version: latest.saturating_sub(i as u64),
                timestamp_ms: info.timestamp,
                operation: info.operation.unwrap_or_default(),
                files_added: figure("filesAdded"),
                rows_added: figure("rowsAdded"),
                files_removed: figure("filesRemoved"),
                rows_removed: figure("rowsRemoved"),
            }
        })
        .collect())
}
