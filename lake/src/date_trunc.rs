//! `date_trunc('month' | 'year', t)` over timestamps without a time zone, computed once per
//! period instead of once per row.
//!
//! DataFusion 55's `date_trunc` turns every value into a calendar date (a dozen integer
//! divisions) to find the start of its month; on the 15M-review lake the monthly rollup spent
//! more time there than in its aggregation (BENCHMARKS.md, "Ten times the data"). A lake's
//! timestamps arrive in runs of the same month, so this version keeps the last period's first
//! and last day and only recomputes the calendar when a value falls outside it. Every other case
//! (other granularities, time zones, scalars, `Time` types, values far from 1970) goes to
//! DataFusion's own function, whose results and errors this one reproduces exactly (tests
//! below), under the same name and aliases.

use std::sync::Arc;

use arrow::{
    array::{Array, ArrowPrimitiveType, AsArray, PrimitiveArray},
    datatypes::{
        DataType, FieldRef, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
        TimestampNanosecondType, TimestampSecondType,
    },
};
use chrono::{Datelike, Months, NaiveDate};
use datafusion::{
    common::{Result, ScalarValue},
    functions::datetime::date_trunc::DateTruncFunc,
    logical_expr::{
        ColumnarValue, Documentation, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
        ScalarUDFImpl, Signature, sort_properties::ExprProperties, sort_properties::SortProperties,
    },
};

/// `date_trunc`, replacing DataFusion's in a session; see the module documentation.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct DateTrunc {
    builtin: DateTruncFunc,
}

impl DateTrunc {
    pub(crate) fn udf() -> ScalarUDF {
        ScalarUDF::new_from_impl(Self::default())
    }
}

/// The periods computed here.
#[derive(Debug, Clone, Copy)]
enum Period {
    Month,
    Year,
}

impl ScalarUDFImpl for DateTrunc {
    fn name(&self) -> &str {
        self.builtin.name()
    }

    fn aliases(&self) -> &[String] {
        self.builtin.aliases()
    }

    fn signature(&self) -> &Signature {
        self.builtin.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.builtin.return_type(arg_types)
    }

    fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
        self.builtin.return_field_from_args(args)
    }

    fn output_ordering(&self, input: &[ExprProperties]) -> Result<SortProperties> {
        self.builtin.output_ordering(input)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.builtin.documentation()
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let period = match &args.args[0] {
            ColumnarValue::Scalar(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::Utf8View(Some(s))
                | ScalarValue::LargeUtf8(Some(s)),
            ) => match s.to_lowercase().as_str() {
                "month" => Some(Period::Month),
                "year" => Some(Period::Year),
                _ => None,
            },
            _ => None,
        };
        let truncated = match (period, &args.args[1]) {
            (Some(period), ColumnarValue::Array(array)) => match array.data_type() {
                DataType::Timestamp(TimeUnit::Second, None) => {
                    by_period(array.as_primitive::<TimestampSecondType>(), period)
                }
                DataType::Timestamp(TimeUnit::Millisecond, None) => {
                    by_period(array.as_primitive::<TimestampMillisecondType>(), period)
                }
                DataType::Timestamp(TimeUnit::Microsecond, None) => {
                    by_period(array.as_primitive::<TimestampMicrosecondType>(), period)
                }
                DataType::Timestamp(TimeUnit::Nanosecond, None) => {
                    by_period(array.as_primitive::<TimestampNanosecondType>(), period)
                }
                _ => None,
            },
            _ => None,
        };
        match truncated {
            Some(array) => Ok(ColumnarValue::Array(array)),
            None => self.builtin.invoke_with_args(args),
        }
    }
}

/// Values whose nanoseconds lie within this distance of 1970 (about 146 years either way) are
/// truncated here; the built-in function decides about the rest, including its range errors.
const NEAR_EPOCH_NANOS: i128 = 1 << 62;

/// The start of each value's period, or `None` when a value lies outside the range handled
/// here.
fn by_period<T>(array: &PrimitiveArray<T>, period: Period) -> Option<Arc<dyn Array>>
where
    T: ArrowPrimitiveType<Native = i64>,
{
    let per_second: i64 = match T::DATA_TYPE {
        DataType::Timestamp(TimeUnit::Second, _) => 1,
        DataType::Timestamp(TimeUnit::Millisecond, _) => 1_000,
        DataType::Timestamp(TimeUnit::Microsecond, _) => 1_000_000,
        _ => 1_000_000_000,
    };
    let nanos_per_unit = i128::from(1_000_000_000 / per_second);
    let near = |v: i64| (i128::from(v) * nanos_per_unit).abs() < NEAR_EPOCH_NANOS;
    if let (Some(lo), Some(hi)) = (arrow::compute::min(array), arrow::compute::max(array))
        && !(near(lo) && near(hi))
    {
        return None;
    }
    let per_day = 86_400 * per_second;
    // The days since 1970 of the current period's first day and of the next period's.
    let (mut first, mut next) = (1, 0);
    let starts: Vec<i64> = array
        .values()
        .iter()
        .map(|&v| {
            let day = v.div_euclid(per_day);
            if !(first..next).contains(&day) {
                (first, next) = period_days(day, period);
            }
            // A null slot's leftover value may be anything: no overflow panic for it.
            first.wrapping_mul(per_day)
        })
        .collect();
    let truncated = PrimitiveArray::<T>::new(starts.into(), array.nulls().cloned());
    Some(Arc::new(truncated))
}

/// The first day of the period holding `day` and the first day of the next, both in days since
/// 1970-01-01; a day the calendar cannot place (only a null slot's leftover value) is its own
/// period.
fn period_days(day: i64, period: Period) -> (i64, i64) {
    // 1970-01-01 is day 719,163 of the common era, as chrono counts.
    const EPOCH_FROM_CE: i64 = 719_163;
    let from_epoch = |date: NaiveDate| i64::from(date.num_days_from_ce()) - EPOCH_FROM_CE;
    let Some(date) = i32::try_from(day + EPOCH_FROM_CE)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
    else {
        return (day, day + 1);
    };
    let (start, end) = match period {
        Period::Month => {
            let start = date.with_day(1);
            (
                start,
                start.and_then(|s| s.checked_add_months(Months::new(1))),
            )
        }
        Period::Year => (
            NaiveDate::from_ymd_opt(date.year(), 1, 1),
            NaiveDate::from_ymd_opt(date.year() + 1, 1, 1),
        ),
    };
    match (start, end) {
        (Some(start), Some(end)) => (from_epoch(start), from_epoch(end)),
        _ => (day, day + 1),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::{ArrayRef, TimestampMicrosecondArray, TimestampMillisecondArray},
        datatypes::{DataType, Field, TimeUnit},
    };
    use datafusion::{
        common::{ScalarValue, config::ConfigOptions},
        logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl},
    };

    use super::DateTrunc;

    fn call(f: &dyn ScalarUDFImpl, granularity: &str, values: &ArrayRef) -> ArrayRef {
        let args = ScalarFunctionArgs {
            args: vec![
                ColumnarValue::Scalar(ScalarValue::Utf8(Some(granularity.into()))),
                ColumnarValue::Array(Arc::clone(values)),
            ],
            arg_fields: vec![
                Arc::new(Field::new("g", DataType::Utf8, false)),
                Arc::new(Field::new("t", values.data_type().clone(), true)),
            ],
            number_rows: values.len(),
            return_field: Arc::new(Field::new("date_trunc", values.data_type().clone(), true)),
            config_options: Arc::new(ConfigOptions::default()),
        };
        match f.invoke_with_args(args).unwrap() {
            ColumnarValue::Array(array) => array,
            ColumnarValue::Scalar(s) => panic!("a scalar for an array: {s}"),
        }
    }

    /// Microsecond timestamps from 1830 to 2110 (month ends, leap days, before 1970, runs of
    /// one month and jumps between them) and nulls: month and year starts equal DataFusion's.
    #[test]
    fn months_and_years_start_where_datafusions_do() {
        let day = 86_400_000_000_i64;
        let mut values: Vec<Option<i64>> = Vec::new();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..20_000_i64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let wide = (state % (280 * 365 * day as u64)) as i64 - 140 * 365 * day;
            values.push(match i % 10 {
                0 => None,
                1..=4 => Some(wide),
                // A run within a few days of the previous value, across month ends.
                _ => values
                    .iter()
                    .rev()
                    .flatten()
                    .next()
                    .map(|v| v + (i % 5 - 2) * day / 2),
            });
        }
        for (y, m, d) in [
            (2024, 2, 29),
            (2023, 3, 1),
            (1969, 12, 31),
            (1900, 3, 1),
            (2000, 2, 29),
        ] {
            let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let micros = date
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_micros();
            values.extend([Some(micros - 1), Some(micros), Some(micros + day - 1)]);
        }
        let micros: ArrayRef = Arc::new(TimestampMicrosecondArray::from(values.clone()));
        let millis: ArrayRef = Arc::new(TimestampMillisecondArray::from(
            values
                .iter()
                .map(|v| v.map(|v| v / 1000))
                .collect::<Vec<_>>(),
        ));
        let ours = DateTrunc::default();
        let builtin = datafusion::functions::datetime::date_trunc::DateTruncFunc::new();
        for values in [&micros, &millis] {
            for granularity in ["month", "MONTH", "year", "day", "quarter"] {
                assert_eq!(
                    call(&ours, granularity, values).as_ref(),
                    call(&builtin, granularity, values).as_ref(),
                    "{granularity} of {}",
                    values.data_type()
                );
            }
        }
        assert_eq!(
            micros.data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, None)
        );
    }

    /// Far from 1970 the built-in function answers, with its own error where it has one.
    #[test]
    fn values_far_from_1970_get_datafusions_answer() {
        let far: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(i64::MAX / 2),
        ]));
        let ours = DateTrunc::default();
        let builtin = datafusion::functions::datetime::date_trunc::DateTruncFunc::new();
        let run = |f: &dyn ScalarUDFImpl| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                call(f, "month", &far).as_ref().to_data()
            }))
            .map_err(|_| ())
        };
        assert_eq!(run(&ours), run(&builtin));
    }
}
