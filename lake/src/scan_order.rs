//! A physical optimizer rule that keeps ordered file scans in order.
//!
//! DataFusion 55's `LimitPushdown` pushes the fetch of a `SortPreservingMergeExec` into the
//! ordered Parquet scans below it and marks them as not depending on order
//! (apache/datafusion#24272). Such a scan lets sibling partitions steal each other's files at run
//! time and may prune row groups by the limit, so the merge above it receives rows out of order:
//! `ORDER BY ... LIMIT ... OFFSET`, the cohort files' shape, then returns wrong rows depending on
//! timing (`tests/sql.rs` caught it under load). This rule runs after every built-in one and
//! marks each scan that declares an output ordering as order-sensitive again, which only turns
//! those two optimisations off for it.

use std::sync::Arc;

use datafusion::{
    common::{
        Result,
        config::ConfigOptions,
        tree_node::{Transformed, TreeNode},
    },
    physical_optimizer::PhysicalOptimizerRule,
    physical_plan::ExecutionPlan,
};

#[derive(Debug, Default)]
pub(crate) struct KeepScanOrder;

impl PhysicalOptimizerRule for KeepScanOrder {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let ordered_scan =
                node.children().is_empty() && node.properties().output_ordering().is_some();
            match ordered_scan
                .then(|| node.with_preserve_order(true))
                .flatten()
            {
                Some(kept) => Ok(Transformed::yes(kept)),
                None => Ok(Transformed::no(node)),
            }
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "keep_scan_order"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use datafusion::{
        datasource::{physical_plan::FileScanConfig, source::DataSourceExec},
        physical_plan::displayable,
    };

    use crate::{
        Query, SqlFiles, Workload,
        batch::{TestRow, committed_lake},
    };

    /// The ordered scans under a cohort's `ORDER BY ... LIMIT ... OFFSET` merge stay
    /// order-sensitive, which DataFusion's limit pushdown alone would turn off.
    #[tokio::test]
    async fn a_cohort_plan_keeps_its_ordered_scans_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<Vec<TestRow>> = (0..2)
            .map(|partition| {
                (0..4)
                    .map(|offset| TestRow {
                        partition,
                        offset,
                        timestamp_ms: Some(1_000 * offset + i64::from(partition)),
                        ..Default::default()
                    })
                    .collect()
            })
            .collect();
        let lake = committed_lake(dir.path(), &files).await;
        let query = Query::open(&lake, &SqlFiles::default(), Workload::Cohorts)
            .await
            .unwrap();
        let df = query
            .context()
            .sql(
                "SELECT review_rating FROM reviews \
                 ORDER BY kafka_timestamp, kafka_partition, kafka_offset LIMIT 2 OFFSET 3",
            )
            .await
            .unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        assert!(
            shown.contains("SortPreservingMergeExec") && !shown.contains("SortExec:"),
            "the files' order claims make the slice a merge, not a sort:\n{shown}"
        );
        let mut scans = Vec::new();
        let mut stack = vec![plan];
        while let Some(node) = stack.pop() {
            if let Some(scan) = node.downcast_ref::<DataSourceExec>() {
                let config = scan.data_source().downcast_ref::<FileScanConfig>();
                scans.push(config.unwrap().preserve_order);
            }
            stack.extend(node.children().into_iter().cloned());
        }
        assert_eq!(scans, [true], "{shown}");
    }
}
