//! From a cohort's Arrow batches to the feature matrix, and the feature transforms.

use arrow::{
    array::{Array, AsArray, RecordBatch},
    compute::cast,
    datatypes::{DataType, Float64Type},
};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A cohort's usable rows as a matrix, and how many rows were left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// `n x d`, row-major.
    pub data: Array2<f64>,
    /// Rows the cohort query returned.
    pub rows: u64,
    /// Rows left out because a feature was NULL.
    pub excluded: u64,
}

/// Copies the named columns of `batches` into an `n x d` row-major matrix, column by column: one
/// allocation and one copy (no per-row allocation), so k-means reads rows from one slice. Rows
/// with a NULL feature are left out and counted.
pub fn matrix(batches: &[RecordBatch], columns: &[&str], cohort: &str) -> Result<Features> {
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let d = columns.len();
    let mut values = vec![0.0f64; total * d];
    let mut at = 0;
    for batch in batches {
        let arrays = columns
            .iter()
            .map(|name| {
                let array = batch.column_by_name(name).ok_or_else(|| Error::Cohort {
                    cohort: cohort.to_string(),
                    reason: format!("the cohort returned no column {name:?}"),
                })?;
                Ok(cast(array, &DataType::Float64)?)
            })
            .collect::<Result<Vec<_>>>()?;
        let floats: Vec<_> = arrays
            .iter()
            .map(|a| a.as_primitive::<Float64Type>())
            .collect();
        let rows = batch.num_rows();
        if floats.iter().all(|f| f.null_count() == 0) {
            for (j, f) in floats.iter().enumerate() {
                for (slot, v) in values[at * d + j..].iter_mut().step_by(d).zip(f.values()) {
                    *slot = *v;
                }
            }
            at += rows;
        } else {
            for i in 0..rows {
                if floats.iter().any(|f| f.is_null(i)) {
                    continue;
                }
                for (j, f) in floats.iter().enumerate() {
                    values[at * d + j] = f.value(i);
                }
                at += 1;
            }
        }
    }
    values.truncate(at * d);
    Ok(Features {
        data: Array2::from_shape_vec((at, d), values).expect("n x d values"),
        rows: total as u64,
        excluded: (total - at) as u64,
    })
}

/// How features are scaled before clustering; its parameters are stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Transform {
    /// Raw units, as the original Spark model.
    #[default]
    None,
    /// `(x - mean) / std` per feature (a zero std scales by 1).
    Standard { mean: Vec<f64>, std: Vec<f64> },
    /// `ln(1 + x)` per feature (values below 0 are clamped to 0 first).
    Log1p,
}

/// The transform to fit, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransformKind {
    #[default]
    None,
    Standard,
    Log1p,
}

impl std::str::FromStr for TransformKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Self::None),
            "standard" => Ok(Self::Standard),
            "log1p" => Ok(Self::Log1p),
            other => Err(format!(
                "unknown transform {other:?} (none, standard, log1p)"
            )),
        }
    }
}

impl TransformKind {
    /// Fits the transform's parameters to `data`.
    pub fn fit(self, data: &Array2<f64>) -> Transform {
        match self {
            Self::None => Transform::None,
            Self::Log1p => Transform::Log1p,
            Self::Standard => {
                let n = data.nrows().max(1) as f64;
                let mean: Vec<f64> = data.columns().into_iter().map(|c| c.sum() / n).collect();
                let std = data
                    .columns()
                    .into_iter()
                    .zip(&mean)
                    .map(|(c, m)| (c.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt())
                    .collect();
                Transform::Standard { mean, std }
            }
        }
    }
}

impl Transform {
    pub fn name(&self) -> &'static str {
        match self {
            Transform::None => "none",
            Transform::Standard { .. } => "standard",
            Transform::Log1p => "log1p",
        }
    }

    /// Maps one raw value of feature `j` into model space.
    pub fn forward(&self, j: usize, x: f64) -> f64 {
        match self {
            Transform::None => x,
            Transform::Standard { mean, std } => (x - mean[j]) / scale(std[j]),
            Transform::Log1p => x.max(0.0).ln_1p(),
        }
    }

    /// Maps one model-space value of feature `j` back to raw units.
    pub fn inverse(&self, j: usize, y: f64) -> f64 {
        match self {
            Transform::None => y,
            Transform::Standard { mean, std } => y * scale(std[j]) + mean[j],
            Transform::Log1p => y.exp_m1(),
        }
    }

    /// Applies [`Transform::forward`] to every value, in place.
    pub fn apply(&self, data: &mut Array2<f64>) {
        if matches!(self, Transform::None) {
            return;
        }
        for (j, mut column) in data.columns_mut().into_iter().enumerate() {
            column.mapv_inplace(|x| self.forward(j, x));
        }
    }

    /// Checks the parameters fit `d` features and are finite numbers.
    pub fn check(&self, d: usize) -> std::result::Result<(), InvalidTransform> {
        match self {
            Transform::Standard { mean, std } if mean.len() != d || std.len() != d => {
                Err(InvalidTransform::Lengths {
                    means: mean.len(),
                    deviations: std.len(),
                    features: d,
                })
            }
            Transform::Standard { mean, std } if mean.iter().chain(std).any(|v| !v.is_finite()) => {
                Err(InvalidTransform::NotFinite)
            }
            _ => Ok(()),
        }
    }
}

/// Why a transform's parameters do not fit a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidTransform {
    #[error(
        "standard transform has {means} means and {deviations} deviations for {features} features"
    )]
    Lengths {
        means: usize,
        deviations: usize,
        features: usize,
    },
    #[error("a standard transform's mean or deviation is not a finite number")]
    NotFinite,
}

fn scale(std: f64) -> f64 {
    if std > 0.0 && std.is_finite() {
        std
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array};
    use std::sync::Arc;

    #[test]
    fn columns_become_a_matrix_across_batches() {
        let batch = |r: Vec<i32>, l: Vec<i64>| {
            RecordBatch::try_from_iter([
                ("rating", Arc::new(Int32Array::from(r)) as _),
                ("likes", Arc::new(Int64Array::from(l)) as _),
            ])
            .unwrap()
        };
        let m = matrix(
            &[batch(vec![1, 2], vec![10, 20]), batch(vec![3], vec![30])],
            &["rating", "likes"],
            "c",
        )
        .unwrap();
        assert_eq!(
            m.data,
            ndarray::array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]
        );
        assert_eq!((m.rows, m.excluded), (3, 0));
        let with_nulls = RecordBatch::try_from_iter([
            (
                "rating",
                Arc::new(Int32Array::from(vec![Some(1), None, Some(3)])) as _,
            ),
            (
                "likes",
                Arc::new(Int64Array::from(vec![Some(10), Some(20), None])) as _,
            ),
        ])
        .unwrap();
        let m = matrix(
            &[with_nulls, batch(vec![4], vec![40])],
            &["rating", "likes"],
            "c",
        )
        .unwrap();
        assert_eq!(m.data, ndarray::array![[1.0, 10.0], [4.0, 40.0]]);
        assert_eq!((m.rows, m.excluded), (4, 2));
        let err = matrix(&[batch(vec![1], vec![1])], &["length"], "model_9").unwrap_err();
        assert!(
            err.to_string().contains("model_9") && err.to_string().contains("length"),
            "{err}"
        );
    }

    #[test]
    fn transforms_round_trip() {
        let data = ndarray::array![[1.0, 0.0], [3.0, 100.0], [5.0, 1000.0]];
        for kind in [
            TransformKind::None,
            TransformKind::Standard,
            TransformKind::Log1p,
        ] {
            let t = kind.fit(&data);
            let mut y = data.clone();
            t.apply(&mut y);
            for ((i, j), v) in data.indexed_iter() {
                assert!((t.inverse(j, y[[i, j]]) - v).abs() < 1e-9, "{kind:?}");
            }
        }
        let Transform::Standard { mean, std } = TransformKind::Standard.fit(&data) else {
            panic!()
        };
        assert_eq!(mean[0], 3.0);
        assert!((std[0] - (8.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn transforms_that_do_not_fit_or_are_not_finite_are_refused() {
        let standard = |mean: Vec<f64>, std: Vec<f64>| Transform::Standard { mean, std };
        assert!(standard(vec![0.0; 3], vec![1.0; 3]).check(3).is_ok());
        assert!(standard(vec![0.0; 2], vec![1.0; 2]).check(3).is_err());
        assert!(
            standard(vec![0.0, f64::NAN, 0.0], vec![1.0; 3])
                .check(3)
                .is_err()
        );
        assert!(
            standard(vec![0.0; 3], vec![1.0, f64::INFINITY, 1.0])
                .check(3)
                .is_err()
        );
    }
}
