//! The same fit through linfa-clustering's `KMeans`, kept as the reference engine
//! (`reviewlake train --engine linfa`) and measured beside the default one in `bench/train.sh`.

use linfa::{DatasetBase, traits::Fit};
use linfa_clustering::KMeans;
use ndarray::ArrayView2;
use rand_xoshiro::{Xoshiro256Plus, rand_core::SeedableRng};

use crate::{
    Error, Result,
    kmeans::{KMeansFit, ValidParams, nearest},
};

/// Fits with linfa's k-means++ and Lloyd (m_k-means) loop, then reports cost and sizes of the
/// returned centroids computed here, so both engines report the same figures.
pub(crate) fn fit(data: ArrayView2<'_, f64>, params: &ValidParams) -> Result<KMeansFit> {
    let dataset = DatasetBase::from(data.to_owned());
    let model = KMeans::params_with_rng(params.k, Xoshiro256Plus::seed_from_u64(params.seed))
        .n_runs(params.n_init.max(1))
        .tolerance(params.tolerance)
        .max_n_iterations(params.max_iter as u64)
        .fit(&dataset)
        .map_err(|e| Error::Fit(e.to_string()))?;
    let centroids = model.centroids().clone();
    let mut sizes = vec![0u64; params.k];
    let mut cost = 0.0;
    for row in data.rows() {
        let x: Vec<f64> = row.to_vec();
        let c = nearest(&centroids, &x);
        sizes[c] += 1;
        cost += centroids
            .row(c)
            .iter()
            .zip(&x)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>();
    }
    Ok(KMeansFit {
        centroids,
        cost,
        sizes,
        iterations: 0,
        best_init: 0,
        converged: true,
    })
}
