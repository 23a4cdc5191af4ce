//! `reviewlake lake vacuum`: delete the data files that no snapshot within the retention needs.
//!
//! Two kinds go: files removed by a commit (compaction inputs) longer ago than the retention, and
//! files in a table's folder that no commit ever added (a crash's or a fenced writer's puts)
//! older than the retention. Delta's own vacuum (full mode) decides; time travel to a version
//! older than the retention may fail afterwards, as in every Delta engine.

use std::time::Duration;

use deltalake::operations::vacuum::VacuumMode;

use crate::{Error, Lake, Result, Table, TableVersion, delta::open};

/// How to vacuum.
#[derive(Debug, Clone)]
pub struct VacuumOptions {
    /// Files are kept while a snapshot this recent may need them.
    pub retain: Duration,
    /// List what would be deleted, delete nothing.
    pub dry_run: bool,
}

impl Default for VacuumOptions {
    fn default() -> Self {
        Self {
            retain: Duration::from_secs(7 * 24 * 3600),
            dry_run: false,
        }
    }
}

/// What a vacuum deleted (or, dry, would delete): object keys relative to the lake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VacuumSummary {
    pub files: Vec<String>,
}

/// Vacuums both tables.
pub async fn vacuum(lake: &Lake, options: &VacuumOptions) -> Result<VacuumSummary> {
    let mut summary = VacuumSummary::default();
    let retain = chrono::Duration::from_std(options.retain).unwrap_or(chrono::Duration::MAX);
    for table in [Table::Reviews, Table::Rejected] {
        let Some(delta) = open(lake, table, TableVersion::Latest).await? else {
            continue;
        };
        let (_, metrics) = delta
            .vacuum()
            .with_retention_period(retain)
            .with_enforce_retention_duration(false)
            .with_mode(VacuumMode::Full)
            .with_dry_run(options.dry_run)
            .await
            .map_err(|e| Error::delta(table, "vacuuming", e))?;
        summary.files.extend(
            metrics
                .files_deleted
                .into_iter()
                .map(|f| format!("{}/{}", table.dir(), f.trim_start_matches('/'))),
        );
    }
    Ok(summary)
}
