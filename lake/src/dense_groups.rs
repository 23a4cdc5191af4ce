//! `GROUP BY` one integer column of a small range (a rating, a partition, a year) without
//! hashing: the partial aggregation finds each row's group by indexing a table with the value.
//!
//! DataFusion's partial aggregation hashes every row's key and probes a hash table; on the
//! 15M-review lake, `GROUP BY review_rating` spent most of its time there, and DuckDB, which
//! indexes such keys by value (a "perfect hash"), answered faster (BENCHMARKS.md, "Ten times the
//! data"). [`DenseGroupBy`] is a physical optimizer rule that replaces a partial
//! `AggregateExec` with a [`DenseGroupsExec`] when the table's statistics bound the key's range
//! to under [`MAX_SPAN`] values. The plan above it is unchanged: the final aggregation merges the
//! same partial states, from the same accumulators.
//!
//! Statistics can be wrong (a file's bounds are only estimates past a filter), so the range is
//! checked again on every batch. A batch outside the table of values it has seen so far makes
//! the stream emit its groups and start a new table (partial aggregates may repeat a key); a
//! batch whose own range is too wide passes its rows on as partial states, one per row, as
//! DataFusion does when a partial aggregation does not reduce. Memory is bounded by the span: at
//! most [`MAX_SPAN`] groups and one `u32` per value of the range, per partition.
//!
//! When every aggregate counts rows (`count(*)`, `count(1)`), the table of values holds the
//! counts themselves: one add per row, with no group index per row and no accumulator.

use std::{fmt, sync::Arc};

use arrow::{
    array::{Array, ArrayRef, ArrowPrimitiveType, AsArray, Int64Array, PrimitiveArray},
    compute::{self, cast},
    datatypes::{
        DataType, Int8Type, Int16Type, Int32Type, Int64Type, SchemaRef, UInt8Type, UInt16Type,
        UInt32Type,
    },
};
use datafusion::{
    common::{
        DataFusionError, Result, ScalarValue,
        config::ConfigOptions,
        tree_node::{Transformed, TreeNode, TreeNodeRecursion},
    },
    execution::TaskContext,
    logical_expr::{EmitTo, GroupsAccumulator},
    physical_expr::{
        PhysicalExpr,
        aggregate::AggregateFunctionExpr,
        expressions::{Column, Literal},
    },
    physical_expr_common::utils::evaluate_expressions_to_arrays,
    physical_optimizer::PhysicalOptimizerRule,
    physical_plan::{
        DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode, PlanProperties,
        ReplaceChildrenOptions, SendableRecordBatchStream, StatisticsArgs, StatisticsContext,
        aggregates::{AggregateExec, AggregateMode},
        metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet},
        stream::RecordBatchStreamAdapter,
    },
};
use futures::{StreamExt, TryStreamExt, stream};

/// The widest key range aggregated by value: 65,536 values, a 256 KiB table per partition.
pub(crate) const MAX_SPAN: i64 = 1 << 16;

/// The physical optimizer rule: a partial aggregation over one integer key whose statistics
/// bound it to fewer than [`MAX_SPAN`] values becomes a [`DenseGroupsExec`].
#[derive(Debug, Default)]
pub(crate) struct DenseGroupBy;

impl PhysicalOptimizerRule for DenseGroupBy {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let dense = node
                .downcast_ref::<AggregateExec>()
                .map(DenseGroupsExec::try_new)
                .transpose()?
                .flatten();
            Ok(match dense {
                Some(dense) => Transformed::yes(Arc::new(dense) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "dense_group_by"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A partial aggregation whose groups are found by value; see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct DenseGroupsExec {
    /// The partial aggregation this replaces: its input, key, aggregates, schema and properties.
    aggregate: Arc<AggregateExec>,
    /// The key's range as the statistics gave it, for display.
    bounds: (i64, i64),
    metrics: ExecutionPlanMetricsSet,
}

impl DenseGroupsExec {
    /// The replacement for `aggregate`, or `None` where it does not apply: not a partial
    /// aggregation of one integer key without grouping sets, filters, ordered or distinct
    /// aggregates, limit or sorted input; an aggregate without a groups accumulator; or a key
    /// range the statistics do not bound below [`MAX_SPAN`].
    fn try_new(aggregate: &AggregateExec) -> Result<Option<Self>> {
        let group_by = aggregate.group_expr();
        let plain = *aggregate.mode() == AggregateMode::Partial
            && group_by.is_single()
            && group_by.expr().len() == 1
            && aggregate.limit_options().is_none()
            && *aggregate.input_order_mode() == InputOrderMode::Linear
            && aggregate.filter_expr().iter().all(Option::is_none);
        if !plain {
            return Ok(None);
        }
        for function in aggregate.aggr_expr() {
            let supported = function.groups_accumulator_supported()
                && function.order_bys().is_empty()
                && !function.is_distinct();
            if !supported {
                return Ok(None);
            }
        }
        let Some(key) = group_by.expr()[0].0.downcast_ref::<Column>() else {
            return Ok(None);
        };
        let input = aggregate.input();
        if !dense_key_type(&key.data_type(&input.schema())?) {
            return Ok(None);
        }
        let statistics =
            StatisticsContext::new().compute(input.as_ref(), &StatisticsArgs::new())?;
        let Some(column) = statistics.column_statistics.get(key.index()) else {
            return Ok(None);
        };
        let bound = |value: Option<&ScalarValue>| value.and_then(integer);
        let (Some(lo), Some(hi)) = (
            bound(column.min_value.get_value()),
            bound(column.max_value.get_value()),
        ) else {
            return Ok(None);
        };
        if !fits(lo, hi) {
            return Ok(None);
        }
        Ok(Some(Self {
            aggregate: Arc::new(aggregate.clone()),
            bounds: (lo, hi),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }
}

/// The key types aggregated by value: those whose every value fits an `i64`.
fn dense_key_type(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// An integer statistic as an `i64`.
fn integer(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::Int8(v) => v.map(i64::from),
        ScalarValue::Int16(v) => v.map(i64::from),
        ScalarValue::Int32(v) => v.map(i64::from),
        ScalarValue::Int64(v) => *v,
        ScalarValue::UInt8(v) => v.map(i64::from),
        ScalarValue::UInt16(v) => v.map(i64::from),
        ScalarValue::UInt32(v) => v.map(i64::from),
        _ => None,
    }
}

/// True when `lo..=hi` holds fewer than [`MAX_SPAN`] values.
fn fits(lo: i64, hi: i64) -> bool {
    i128::from(hi) - i128::from(lo) < i128::from(MAX_SPAN)
}

impl DisplayAs for DenseGroupsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let (key, name) = &self.aggregate.group_expr().expr()[0];
        let functions: Vec<&str> = self
            .aggregate
            .aggr_expr()
            .iter()
            .map(|a| a.name())
            .collect();
        write!(
            f,
            "DenseGroupsExec: gby=[{key} as {name}], aggr=[{}], bounds=[{}, {}]",
            functions.join(", "),
            self.bounds.0,
            self.bounds.1
        )
    }
}

impl ExecutionPlan for DenseGroupsExec {
    fn name(&self) -> &str {
        "DenseGroupsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.aggregate.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.aggregate.input()]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.aggregate.apply_expressions(f)
    }

    fn replace_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
        options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let replaced = Arc::clone(&self.aggregate).replace_children(children, options)?;
        let aggregate = replaced
            .downcast_ref::<AggregateExec>()
            .expect("an AggregateExec stays one when its child is replaced");
        // New children may carry other statistics: decide again.
        Ok(match Self::try_new(aggregate)? {
            Some(dense) => Arc::new(dense),
            None => replaced,
        })
    }

    #[allow(deprecated)]
    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.aggregate.input().execute(partition, context)?;
        let schema = self.schema();
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        let groups = DenseGroups::new(&self.aggregate, Arc::clone(&schema))?;
        let batches = stream::try_unfold(
            (input, Some(groups), metrics),
            |(mut input, groups, metrics)| async move {
                let Some(mut groups) = groups else {
                    return Ok::<_, DataFusionError>(None);
                };
                let (out, groups) = match input.next().await.transpose()? {
                    Some(batch) => {
                        let timer = metrics.elapsed_compute().timer();
                        let out = groups.take(&batch)?;
                        timer.done();
                        (out, Some(groups))
                    }
                    None => {
                        let timer = metrics.elapsed_compute().timer();
                        let out: Vec<_> = groups.emit()?.into_iter().collect();
                        timer.done();
                        metrics.done();
                        (out, None)
                    }
                };
                for batch in &out {
                    metrics.record_output(batch.num_rows());
                }
                Ok(Some((out, (input, groups, metrics))))
            },
        )
        .map_ok(|out| stream::iter(out.into_iter().map(Ok)))
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// No group yet for this value.
const EMPTY: u32 = u32::MAX;

/// One partition's groups: the table from value to group, the keys in group order and the
/// aggregates' accumulators.
struct DenseGroups {
    schema: SchemaRef,
    key: Arc<dyn PhysicalExpr>,
    key_type: DataType,
    arguments: Vec<Vec<Arc<dyn PhysicalExpr>>>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
    /// The value of `slots[0]`.
    base: i64,
    /// Group index per value from `base`, or [`EMPTY`].
    slots: Vec<u32>,
    /// The key of each group, in group order; `None` is the null key's group.
    keys: Vec<Option<i64>>,
    null_group: Option<usize>,
    /// The group of each row of the batch being taken.
    indices: Vec<usize>,
    /// When every aggregate counts rows: the rows per value from `base` (beside `slots`, which
    /// then stay [`EMPTY`]), and the rows with a null key. The accumulators stay unused.
    tallies: Option<Tallies>,
}

/// Rows counted per key value, for aggregates that all count rows.
#[derive(Default)]
struct Tallies {
    /// Rows per value from the table's `base`.
    per_value: Vec<i64>,
    null_key: i64,
    /// The rows of each group [`Tallies::groups`] last gave.
    counts: Vec<i64>,
}

impl Tallies {
    /// Counts `keys` (all within the table: `widen` made room).
    fn add<T>(&mut self, keys: &PrimitiveArray<T>, base: i64)
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i64>,
    {
        let per_value = &mut self.per_value;
        match keys.nulls().filter(|nulls| nulls.null_count() > 0) {
            Some(nulls) => {
                self.null_key += nulls.null_count() as i64;
                for i in nulls.valid_indices() {
                    per_value[(keys.value(i).into() - base) as usize] += 1;
                }
            }
            None => {
                for &v in keys.values().iter() {
                    per_value[(v.into() - base) as usize] += 1;
                }
            }
        }
    }

    /// The keys counted so far, their counts into `counts`; starts counting again.
    fn groups(&mut self, base: i64) -> Vec<Option<i64>> {
        let counted = self.per_value.iter().enumerate().filter(|(_, n)| **n > 0);
        let mut keys: Vec<_> = counted
            .clone()
            .map(|(i, _)| Some(base + i as i64))
            .collect();
        self.counts = counted.map(|(_, n)| *n).collect();
        if self.null_key > 0 {
            keys.push(None);
            self.counts.push(self.null_key);
        }
        self.per_value.clear();
        self.null_key = 0;
        keys
    }
}

/// Whether an aggregate counts every row: `count` of arguments that are never null
/// (`count(*)` is `count(1)`).
fn counts_rows(function: &AggregateFunctionExpr) -> bool {
    function.fun().name() == "count"
        && function.expressions().iter().all(|argument| {
            argument
                .downcast_ref::<Literal>()
                .is_some_and(|literal| !literal.value().is_null())
        })
}

/// Whether a batch's keys fit the table of values.
enum Placed {
    Fits,
    Outside,
}

impl DenseGroups {
    fn new(aggregate: &AggregateExec, schema: SchemaRef) -> Result<Self> {
        let key = Arc::clone(&aggregate.group_expr().expr()[0].0);
        let key_type = key.data_type(&aggregate.input().schema())?;
        let functions = aggregate.aggr_expr();
        Ok(Self {
            schema,
            key,
            key_type,
            arguments: functions.iter().map(|f| f.expressions()).collect(),
            accumulators: functions
                .iter()
                .map(|f| f.create_groups_accumulator())
                .collect::<Result<_>>()?,
            base: 0,
            slots: Vec::new(),
            keys: Vec::new(),
            null_group: None,
            indices: Vec::new(),
            tallies: functions
                .iter()
                .all(|f| counts_rows(f))
                .then(Tallies::default),
        })
    }

    /// Adds one input batch; returns the batches it made the stream emit: the groups so far
    /// when its keys fall outside their table, and its own rows as states when its keys span
    /// too wide a range to index.
    fn take(
        &mut self,
        batch: &arrow::array::RecordBatch,
    ) -> Result<Vec<arrow::array::RecordBatch>> {
        let keys = self.key.evaluate(batch)?.into_array(batch.num_rows())?;
        let mut out = Vec::new();
        if let Placed::Outside = self.place(&keys)? {
            out.extend(self.emit()?);
            if let Placed::Outside = self.place(&keys)? {
                out.push(self.as_states(keys, &self.arguments_of(batch)?)?);
                return Ok(out);
            }
        }
        // Tallies counted the rows as they were placed; accumulators take them by group.
        if self.tallies.is_none() {
            let arguments = self.arguments_of(batch)?;
            let groups = self.keys.len();
            for (accumulator, values) in self.accumulators.iter_mut().zip(&arguments) {
                accumulator.update_batch(values, &self.indices, None, groups)?;
            }
        }
        Ok(out)
    }

    /// Each aggregate's arguments over `batch`.
    fn arguments_of(&self, batch: &arrow::array::RecordBatch) -> Result<Vec<Vec<ArrayRef>>> {
        self.arguments
            .iter()
            .map(|exprs| evaluate_expressions_to_arrays(exprs, batch))
            .collect()
    }

    /// Finds each key's group into `indices`, adding groups for new keys (with tallies: counts
    /// each row to its value instead), or reports that the keys fall outside the table and
    /// cannot join it.
    fn place(&mut self, keys: &ArrayRef) -> Result<Placed> {
        match keys.data_type() {
            DataType::Int8 => Ok(self.place_typed(keys.as_primitive::<Int8Type>())),
            DataType::Int16 => Ok(self.place_typed(keys.as_primitive::<Int16Type>())),
            DataType::Int32 => Ok(self.place_typed(keys.as_primitive::<Int32Type>())),
            DataType::Int64 => Ok(self.place_typed(keys.as_primitive::<Int64Type>())),
            DataType::UInt8 => Ok(self.place_typed(keys.as_primitive::<UInt8Type>())),
            DataType::UInt16 => Ok(self.place_typed(keys.as_primitive::<UInt16Type>())),
            DataType::UInt32 => Ok(self.place_typed(keys.as_primitive::<UInt32Type>())),
            other => datafusion::common::internal_err!("DenseGroupsExec got a key of type {other}"),
        }
    }

    fn place_typed<T>(&mut self, keys: &PrimitiveArray<T>) -> Placed
    where
        T: ArrowPrimitiveType,
        T::Native: Into<i64>,
    {
        self.indices.clear();
        if let (Some(lo), Some(hi)) = (compute::min(keys), compute::max(keys))
            && !self.widen(lo.into(), hi.into())
        {
            return Placed::Outside;
        }
        if let Some(tallies) = &mut self.tallies {
            tallies.add(keys, self.base);
            return Placed::Fits;
        }
        // The null key's group, made the first time a batch has nulls.
        let null_group = (keys.null_count() > 0).then(|| {
            *self.null_group.get_or_insert_with(|| {
                self.keys.push(None);
                self.keys.len() - 1
            })
        });
        let (base, slots, groups) = (self.base, &mut self.slots, &mut self.keys);
        if null_group.is_none() {
            // Once every key of the batch has its group (almost every batch), a plain lookup.
            let table: &[u32] = slots;
            let mut unseen = false;
            self.indices.resize(keys.len(), 0);
            for (index, &v) in self.indices.iter_mut().zip(keys.values().iter()) {
                let slot = table[(v.into() - base) as usize];
                unseen |= slot == EMPTY;
                *index = slot as usize;
            }
            if !unseen {
                return Placed::Fits;
            }
            self.indices.clear();
        }
        let mut group_of = |value: i64| {
            // `widen` made room for every valid key of this batch.
            let slot = &mut slots[(value - base) as usize];
            if *slot == EMPTY {
                *slot = groups.len() as u32;
                groups.push(Some(value));
            }
            *slot as usize
        };
        match (keys.nulls(), null_group) {
            (Some(nulls), Some(null_group)) => {
                self.indices
                    .extend(keys.values().iter().zip(nulls.iter()).map(|(&v, valid)| {
                        if valid {
                            group_of(v.into())
                        } else {
                            null_group
                        }
                    }));
            }
            _ => self
                .indices
                .extend(keys.values().iter().map(|&v| group_of(v.into()))),
        }
        Placed::Fits
    }

    /// Makes the table of values cover `lo..=hi`, unless the whole would span [`MAX_SPAN`] or
    /// more.
    fn widen(&mut self, lo: i64, hi: i64) -> bool {
        if self.slots.is_empty() {
            if !fits(lo, hi) {
                return false;
            }
            self.base = lo;
            self.slots = vec![EMPTY; (hi - lo + 1) as usize];
            if let Some(tallies) = &mut self.tallies {
                tallies.per_value = vec![0; self.slots.len()];
            }
            return true;
        }
        let end = self.base + self.slots.len() as i64 - 1;
        let (new_lo, new_hi) = (lo.min(self.base), hi.max(end));
        if !fits(new_lo, new_hi) {
            return false;
        }
        if new_lo < self.base {
            let before = (self.base - new_lo) as usize;
            self.slots.splice(0..0, std::iter::repeat_n(EMPTY, before));
            if let Some(tallies) = &mut self.tallies {
                tallies
                    .per_value
                    .splice(0..0, std::iter::repeat_n(0, before));
            }
            self.base = new_lo;
        }
        self.slots.resize((new_hi - self.base + 1) as usize, EMPTY);
        if let Some(tallies) = &mut self.tallies {
            tallies.per_value.resize(self.slots.len(), 0);
        }
        true
    }

    /// The groups so far as one batch of partial states; the table starts empty again.
    fn emit(&mut self) -> Result<Option<arrow::array::RecordBatch>> {
        let keys = match &mut self.tallies {
            Some(tallies) => tallies.groups(self.base),
            None => std::mem::take(&mut self.keys),
        };
        self.slots.clear();
        self.null_group = None;
        if keys.is_empty() {
            return Ok(None);
        }
        let mut columns = vec![cast(
            &keys.into_iter().collect::<Int64Array>(),
            &self.key_type,
        )?];
        match &mut self.tallies {
            Some(tallies) => {
                // A count's state is its count.
                let counts: ArrayRef =
                    Arc::new(Int64Array::from(std::mem::take(&mut tallies.counts)));
                columns.extend(self.accumulators.iter().map(|_| Arc::clone(&counts)));
            }
            None => {
                for accumulator in &mut self.accumulators {
                    columns.extend(accumulator.state(EmitTo::All)?);
                }
            }
        }
        Ok(Some(arrow::array::RecordBatch::try_new(
            Arc::clone(&self.schema),
            columns,
        )?))
    }

    /// A batch's rows passed on as partial states, one per row.
    fn as_states(
        &self,
        keys: ArrayRef,
        arguments: &[Vec<ArrayRef>],
    ) -> Result<arrow::array::RecordBatch> {
        let mut columns = vec![keys];
        for (accumulator, values) in self.accumulators.iter().zip(arguments) {
            columns.extend(accumulator.convert_to_state(values, None)?);
        }
        Ok(arrow::array::RecordBatch::try_new(
            Arc::clone(&self.schema),
            columns,
        )?)
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, sync::Arc};

    use arrow::{
        array::{Int32Array, Int64Array, RecordBatch},
        datatypes::{DataType, Field, Schema},
        util::pretty::pretty_format_batches,
    };
    use datafusion::{
        common::tree_node::{Transformed, TreeNode},
        datasource::MemTable,
        physical_plan::{
            ExecutionPlan, aggregates::AggregateExec, collect, displayable,
            metrics::ExecutionPlanMetricsSet,
        },
        prelude::{SessionConfig, SessionContext},
    };

    use super::DenseGroupsExec;
    use crate::{
        Query, SqlFiles, Workload,
        batch::{TestRow, committed_lake},
    };

    /// A table of two partitions whose batches take every path of [`DenseGroupsExec`]: keys
    /// that fit the table of values, null keys, keys far outside it (the groups are emitted and
    /// a new table begins) and a batch whose keys span more than [`MAX_SPAN`] (its rows pass on
    /// as states).
    fn awkward_table() -> MemTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int32, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let batch = |keys: Vec<Option<i32>>| {
            let values: Int64Array = (0..keys.len() as i64)
                .map(|i| (i % 7 != 3).then_some(i * 10 - 25))
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int32Array::from(keys)), Arc::new(values)],
            )
            .unwrap()
        };
        let small = |from: i32| (0..300).map(|i| Some(from + i % 5)).collect::<Vec<_>>();
        let mut with_nulls = small(3);
        with_nulls[7] = None;
        with_nulls[100] = None;
        let wide = (0..300)
            .map(|i| Some(if i % 2 == 0 { -(1 << 20) } else { 1 << 20 } + i % 3))
            .collect();
        let partitions = vec![
            vec![
                batch(small(1)),
                batch(with_nulls),
                batch(small(1_000_000)),
                batch(small(2)),
            ],
            vec![
                batch(wide),
                batch(small(4)),
                batch(vec![None; 20]),
                batch(small(1)),
            ],
        ];
        MemTable::try_new(schema, partitions).unwrap()
    }

    async fn physical_plan(ctx: &SessionContext, sql: &str) -> Arc<dyn ExecutionPlan> {
        let frame = ctx.sql(sql).await.unwrap();
        frame.create_physical_plan().await.unwrap()
    }

    /// The same aggregation with DataFusion's partial aggregation and with [`DenseGroupsExec`]
    /// in its place gives the same rows: aggregates with accumulators, and counts of rows alone
    /// (tallied per value).
    #[tokio::test]
    async fn dense_groups_give_the_rows_of_the_hash_aggregation_on_every_path() {
        for sql in [
            "SELECT k, count(*) AS n, count(v) AS nv, sum(v) AS s, min(v) AS lo, \
             max(v) AS hi, avg(v) AS mean FROM t GROUP BY k ORDER BY k",
            "SELECT k, count(*) AS n, count(1) AS m FROM t GROUP BY k ORDER BY k",
        ] {
            same_rows_both_ways(sql).await;
        }
    }

    async fn same_rows_both_ways(sql: &str) {
        let config = SessionConfig::new().with_target_partitions(2);
        let ctx = SessionContext::new_with_config(config);
        ctx.register_table("t", Arc::new(awkward_table())).unwrap();
        let plan = physical_plan(&ctx, sql).await;
        let hashed = collect(plan.clone(), ctx.task_ctx()).await.unwrap();
        let mut replaced = 0;
        let dense = Arc::clone(&plan)
            .transform_up(|node| {
                let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                    return Ok(Transformed::no(node));
                };
                if *aggregate.mode()
                    != datafusion::physical_plan::aggregates::AggregateMode::Partial
                {
                    return Ok(Transformed::no(node));
                }
                replaced += 1;
                Ok(Transformed::yes(Arc::new(DenseGroupsExec {
                    aggregate: Arc::new(aggregate.clone()),
                    bounds: (1, 5),
                    metrics: ExecutionPlanMetricsSet::new(),
                })
                    as Arc<dyn ExecutionPlan>))
            })
            .unwrap()
            .data;
        assert_eq!(replaced, 1, "{}", displayable(plan.as_ref()).indent(false));
        let densed = collect(dense, ctx.task_ctx()).await.unwrap();
        let shown = |b: &[RecordBatch]| pretty_format_batches(b).unwrap().to_string();
        assert_eq!(shown(&densed), shown(&hashed), "{sql}");
        let rows: usize = hashed.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(
            rows,
            5 + 5 + 1 + 6 + 3,
            "keys 1-7, 1,000,000-1,000,004, null, the wide ones"
        );
    }

    /// On a lake, `GROUP BY review_rating` plans the dense aggregation (the table's statistics
    /// bound the ratings) and counts each rating; a text key keeps DataFusion's.
    #[tokio::test]
    async fn a_lake_groups_its_ratings_by_value_and_counts_them() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<Vec<TestRow>> = (0..3)
            .map(|partition| {
                (0..40)
                    .map(|offset| TestRow {
                        partition,
                        offset,
                        rating: 1 + ((offset * 7 + i64::from(partition)) % 5) as i32,
                        ..Default::default()
                    })
                    .collect()
            })
            .collect();
        let mut expected = BTreeMap::new();
        for row in files.iter().flatten() {
            *expected.entry(row.rating).or_insert(0_i64) += 1;
        }
        let lake = committed_lake(dir.path(), &files).await;
        let query = Query::open(&lake, &SqlFiles::default(), Workload::AdHoc)
            .await
            .unwrap();
        let run = |sql: &'static str| {
            let ctx = query.context().clone();
            async move {
                let plan = physical_plan(&ctx, sql).await;
                let shown = displayable(plan.as_ref()).indent(false).to_string();
                (collect(plan, ctx.task_ctx()).await.unwrap(), shown)
            }
        };
        let (batches, shown) =
            run("SELECT review_rating, count(*) FROM reviews GROUP BY 1 ORDER BY 1").await;
        assert!(shown.contains("DenseGroupsExec"), "{shown}");
        let mut counted = BTreeMap::new();
        for batch in &batches {
            let ratings = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int32Array>()
                .unwrap();
            let counts = batch
                .column(1)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap();
            for i in 0..batch.num_rows() {
                counted.insert(ratings.value(i), counts.value(i));
            }
        }
        assert_eq!(counted, expected);
        let (_, shown) = run("SELECT review_id, count(*) FROM reviews GROUP BY 1").await;
        assert!(!shown.contains("DenseGroupsExec"), "{shown}");
    }
}
