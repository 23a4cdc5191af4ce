//! k-means: greedy k-means++ initialisation and exact Lloyd iterations.
//!
//! linfa-clustering 0.8's `KMeans` (see [`crate::linfa_engine`]) is the reference this module is
//! measured against. It is replaced here for the default engine because its Lloyd step is not
//! exact (m_k-means counts the old centroid as one more member of each cluster), it reports the
//! cluster sizes of the last run rather than of the best one, its tolerance is absolute rather
//! than relative to the data's spread, and it runs the initialisations one after another. This
//! implementation runs initialisations in parallel, each on its own seeded generator, so the
//! result is the same whatever the number of threads. Both the initialisation and the Lloyd
//! steps run over the distinct rows weighted by their counts when rows repeat (review features
//! are small integers): the same sums, counts and cost, in a fraction of the work.

use std::{
    borrow::Cow,
    collections::{HashMap, hash_map::Entry},
};

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Parameters of one fit.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    pub k: usize,
    pub seed: u64,
    /// Independent k-means++ initialisations; the lowest cost wins.
    pub n_init: usize,
    /// Convergence when the squared centroid shift is at most `tolerance` times the mean
    /// per-feature variance of the data (scikit-learn's rule).
    pub tolerance: f64,
    pub max_iter: usize,
    /// Threads for the initialisations; `0` = one per core.
    pub threads: usize,
}

impl Default for KMeansParams {
    fn default() -> Self {
        Self {
            k: 3,
            seed: 42,
            n_init: 10,
            tolerance: 1e-4,
            max_iter: 300,
            threads: 0,
        }
    }
}

impl KMeansParams {
    /// Checks the parameters (linfa's params -> checked-params pattern): [`fit`] takes only
    /// what passed.
    pub fn check(self) -> std::result::Result<ValidParams, InvalidParams> {
        if self.k == 0 {
            return Err(InvalidParams::K);
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(InvalidParams::Tolerance(self.tolerance));
        }
        if self.max_iter == 0 {
            return Err(InvalidParams::MaxIter);
        }
        if self.n_init == 0 {
            return Err(InvalidParams::NInit);
        }
        Ok(ValidParams(self))
    }
}

/// k-means parameters that passed [`KMeansParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidParams(KMeansParams);

impl std::ops::Deref for ValidParams {
    type Target = KMeansParams;

    fn deref(&self) -> &KMeansParams {
        &self.0
    }
}

impl Default for ValidParams {
    fn default() -> Self {
        KMeansParams::default()
            .check()
            .expect("the default parameters are valid")
    }
}

/// Why k-means parameters were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidParams {
    #[error("k must be at least 1")]
    K,
    #[error("the tolerance must be a finite number above 0, not {0}")]
    Tolerance(f64),
    #[error("max-iter must be at least 1")]
    MaxIter,
    #[error("n-init must be at least 1")]
    NInit,
}

/// A fitted model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansFit {
    /// `k x d`, in the space the data was given in.
    pub centroids: Array2<f64>,
    /// Sum of squared distances of each row to its centroid (Spark's `trainingCost`).
    pub cost: f64,
    pub sizes: Vec<u64>,
    /// Lloyd iterations of the winning initialisation.
    pub iterations: usize,
    /// Index of the winning initialisation.
    pub best_init: usize,
    /// Whether the winning initialisation met the tolerance before `max_iter`.
    pub converged: bool,
}

/// Fits k-means to `data` (`n x d`, any memory order).
///
/// # Panics
/// If `data` has fewer rows than `params.k` or `params.k` is 0; callers check first.
pub fn fit(data: ArrayView2<'_, f64>, params: &ValidParams) -> KMeansFit {
    assert!(data.nrows() >= params.k, "k-means needs at least k rows");
    let rows = RowMajor::new(data);
    let threshold = params.tolerance * mean_variance(&rows);
    let n_init = params.n_init.max(1);
    let threads = match params.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        t => t,
    }
    .min(n_init);
    let points = Points::new(&rows);
    let run = |i: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
        rng.set_stream(i as u64);
        let init = kmeans_plus_plus(&points, params.k, &mut rng);
        lloyd(&points, init, threshold, params.max_iter, i)
    };
    let runs: Vec<KMeansFit> = if threads <= 1 {
        (0..n_init).map(run).collect()
    } else {
        let mut slots: Vec<Option<KMeansFit>> = vec![None; n_init];
        std::thread::scope(|scope| {
            let chunks: Vec<_> = slots.chunks_mut(n_init.div_ceil(threads)).collect();
            let mut start = 0;
            for chunk in chunks {
                let first = start;
                start += chunk.len();
                let run = &run;
                scope.spawn(move || {
                    for (j, slot) in chunk.iter_mut().enumerate() {
                        *slot = Some(run(first + j));
                    }
                });
            }
        });
        slots
            .into_iter()
            .map(|s| s.expect("every run filled"))
            .collect()
    };
    // Most starts end in the same few optima: each distinct one is refined once, in order of cost.
    let by_cost = |a: &KMeansFit, b: &KMeansFit| {
        a.cost
            .total_cmp(&b.cost)
            .then(a.best_init.cmp(&b.best_init))
    };
    let mut runs = runs;
    runs.sort_by(by_cost);
    runs.dedup_by(|later, kept| later.cost <= kept.cost * (1.0 + 1e-12));
    runs.into_iter()
        .map(|fit| refine(&points, fit, threshold, params.max_iter))
        .min_by(by_cost)
        .expect("at least one run")
}

/// The index of the centroid nearest to `point` (ties go to the lower index).
pub fn nearest(centroids: &Array2<f64>, point: &[f64]) -> usize {
    let mut best = (f64::INFINITY, 0);
    for (c, row) in centroids.rows().into_iter().enumerate() {
        let d: f64 = row.iter().zip(point).map(|(a, b)| (a - b) * (a - b)).sum();
        if d < best.0 {
            best = (d, c);
        }
    }
    best.1
}

/// The nearest centroid of every row.
pub fn labels(data: ArrayView2<'_, f64>, centroids: &Array2<f64>) -> Vec<usize> {
    let rows = RowMajor::new(data);
    (0..rows.n)
        .map(|i| nearest(centroids, rows.row(i)))
        .collect()
}

/// Mean silhouette with squared Euclidean distance, computed exactly in O(N·k·d) from
/// per-cluster sums as Spark's `ClusteringEvaluator` does. `None` with fewer than two clusters.
/// `labels` are each row's cluster, from [`labels`].
pub fn silhouette(data: ArrayView2<'_, f64>, labels: &[usize], k: usize) -> Option<f64> {
    let rows = RowMajor::new(data);
    let d = rows.d;
    if k < 2 || rows.n == 0 {
        return None;
    }
    let mut count = vec![0f64; k];
    let mut sum = vec![0f64; k * d];
    let mut sq = vec![0f64; k];
    for (i, &c) in labels.iter().enumerate() {
        let x = rows.row(i);
        count[c] += 1.0;
        sq[c] += dot(x, x);
        for j in 0..d {
            sum[c * d + j] += x[j];
        }
    }
    let mut total = 0.0;
    for (i, &own) in labels.iter().enumerate() {
        let x = rows.row(i);
        let norm = dot(x, x);
        let avg =
            |c: usize| norm + sq[c] / count[c] - 2.0 * dot(x, &sum[c * d..c * d + d]) / count[c];
        if count[own] <= 1.0 {
            continue; // a singleton's silhouette is 0
        }
        let a = avg(own) * count[own] / (count[own] - 1.0);
        let b = (0..k)
            .filter(|&c| c != own && count[c] > 0.0)
            .map(avg)
            .fold(f64::INFINITY, f64::min);
        if !b.is_finite() {
            continue;
        }
        total += if a < b {
            1.0 - a / b
        } else if a > b {
            b / a - 1.0
        } else {
            0.0
        };
    }
    Some(total / rows.n as f64)
}

/// Rows of the data, contiguous, so the hot loops read one slice.
struct RowMajor<'a> {
    values: Cow<'a, [f64]>,
    n: usize,
    d: usize,
}

impl<'a> RowMajor<'a> {
    /// Borrows a standard-layout matrix; copies any other.
    fn new(data: ArrayView2<'a, f64>) -> Self {
        let (n, d) = data.dim();
        let values = match data.to_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(data.iter().copied().collect()),
        };
        Self { values, n, d }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn mean_variance(rows: &RowMajor<'_>) -> f64 {
    let (n, d) = (rows.n as f64, rows.d);
    let mut mean = vec![0.0; d];
    for i in 0..rows.n {
        for (m, x) in mean.iter_mut().zip(rows.row(i)) {
            *m += x;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n);
    let mut var = 0.0;
    for i in 0..rows.n {
        var += sq_dist(rows.row(i), &mean);
    }
    var / n / d as f64
}

/// Greedy k-means++ (Arthur & Vassilvitskii, with scikit-learn's 2 + ln k local trials per
/// centre: the candidate that lowers the potential most wins). A weighted point stands for as
/// many rows: it is drawn, and counts in the potential, that many times over.
fn kmeans_plus_plus(points: &Points<'_>, k: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let d = points.d;
    let n = points.len();
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Vec::with_capacity(k * d);
    // The first centre is a row drawn uniformly.
    let first = match &points.weights {
        None => rng.random_range(0..n),
        Some(w) => {
            let total: f64 = w.iter().sum();
            let target = rng.random_range(0..total as u64) as f64;
            let mut acc = 0.0;
            w.iter()
                .position(|w| {
                    acc += w;
                    acc > target
                })
                .unwrap_or(n - 1)
        }
    };
    centres.extend_from_slice(points.row(first));
    let mut closest: Vec<f64> = (0..n)
        .map(|i| points.weight(i) * sq_dist(points.row(i), points.row(first)))
        .collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cumulative = vec![0.0; n];
    let mut candidate_dist = vec![0.0; n];
    let mut best_dist = vec![0.0; n];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, d) in cumulative.iter_mut().zip(&closest) {
            acc += d;
            *c = acc;
        }
        let mut best: Option<(f64, usize)> = None;
        for _ in 0..trials {
            let target = rng.random::<f64>() * potential;
            let pick = cumulative.partition_point(|&c| c <= target).min(n - 1);
            let candidate = points.row(pick);
            let mut pot = 0.0;
            for (i, (cd, cl)) in candidate_dist.iter_mut().zip(&closest).enumerate() {
                *cd = (points.weight(i) * sq_dist(points.row(i), candidate)).min(*cl);
                pot += *cd;
            }
            if best.is_none_or(|(p, _)| pot < p) {
                best = Some((pot, pick));
                std::mem::swap(&mut best_dist, &mut candidate_dist);
            }
        }
        let (pot, pick) = best.expect("at least one trial");
        potential = pot;
        std::mem::swap(&mut closest, &mut best_dist);
        centres.extend_from_slice(points.row(pick));
    }
    centres
}

/// What k-means++ and Lloyd's iterations run over: each distinct row once, weighted by how often
/// it occurs.
/// Review features are small integers (a rating, a like count, a length), so a 500,000-row cohort
/// holds some 20,000 distinct rows, and the weighted sums, counts and cost are exactly those of
/// the rows. Data with few repeats keeps its rows, each of weight 1.
struct Points<'a> {
    values: Cow<'a, [f64]>,
    /// `None`: every weight is 1.
    weights: Option<Vec<f64>>,
    d: usize,
}

impl<'a> Points<'a> {
    fn new(rows: &'a RowMajor<'a>) -> Self {
        let d = rows.d;
        let bits: Vec<u64> = rows.values.iter().map(|v| v.to_bits()).collect();
        let mut index: HashMap<&[u64], usize> = HashMap::new();
        let mut values = Vec::new();
        let mut weights: Vec<f64> = Vec::new();
        for row in bits.chunks_exact(d.max(1)) {
            match index.entry(row) {
                Entry::Occupied(e) => weights[*e.get()] += 1.0,
                Entry::Vacant(e) => {
                    if weights.len() >= rows.n / 2 {
                        // Too few repeats to be worth it.
                        return Self {
                            values: Cow::Borrowed(&rows.values),
                            weights: None,
                            d,
                        };
                    }
                    e.insert(weights.len());
                    values.extend(row.iter().map(|b| f64::from_bits(*b)));
                    weights.push(1.0);
                }
            }
        }
        Self {
            values: Cow::Owned(values),
            weights: Some(weights),
            d,
        }
    }

    fn len(&self) -> usize {
        self.values.len() / self.d.max(1)
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.d..(i + 1) * self.d]
    }

    /// How many rows point `i` stands for.
    fn weight(&self, i: usize) -> f64 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }
}

/// Lloyd iterations from `centres` (`k * d`, row-major) until the squared shift of the centroids
/// is at most `threshold`, then the cost and sizes of the final centroids.
fn lloyd(
    points: &Points<'_>,
    mut centres: Vec<f64>,
    threshold: f64,
    max_iter: usize,
    init: usize,
) -> KMeansFit {
    let d = points.d;
    let k = centres.len() / d;
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0.0; k];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        iterations += 1;
        assign(points, &centres, &mut sums, &mut counts);
        let mut shift = 0.0;
        for c in 0..k {
            let new: Vec<f64> = if counts[c] == 0.0 {
                // An empty cluster restarts at the row farthest from its centroid.
                points.row(farthest(points, &centres)).to_vec()
            } else {
                sums[c * d..(c + 1) * d]
                    .iter()
                    .map(|s| s / counts[c])
                    .collect()
            };
            shift += sq_dist(&centres[c * d..(c + 1) * d], &new);
            centres[c * d..(c + 1) * d].copy_from_slice(&new);
        }
        if shift <= threshold {
            converged = true;
            break;
        }
    }
    let cost = assign(points, &centres, &mut sums, &mut counts);
    KMeansFit {
        centroids: Array2::from_shape_vec((k, d), centres).expect("k x d centroids"),
        cost,
        // Weights are whole numbers, exact in f64 far beyond any cohort size.
        sizes: counts.iter().map(|c| *c as u64).collect(),
        iterations,
        best_init: init,
        converged,
    }
}

/// Rounds of [`refine`]'s searches at most (each must lower the cost; two or three suffice).
const REFINE_ROUNDS: usize = 20;

/// Local searches from a Lloyd fixed point, each followed by Lloyd again, while they lower the
/// cost. Lloyd's nearest-centroid rule stops where moving points one at a time by distance cannot
/// help; two moves it cannot see often can:
/// - Hartigan's single moves: a point (with all the rows it stands for) moves to another cluster
///   when that lowers the cost once both centroids follow it;
/// - the best split of each pair of clusters along the line through their centroids: the pair's
///   points sorted by their projection on it, every cut point scanned, and the cheapest taken
///   (moving hundreds of rows across a boundary at once).
///
/// Every accepted round strictly lowers the cost, so the result is never worse than `fit`. On the
/// review cohorts it leaves local optima that every start of scikit-learn, Spark and Lloyd alone
/// stops in (BENCHMARKS.md, training run 5). Points are visited in order and sorts break ties by
/// index: the same input, the same result.
fn refine(points: &Points<'_>, mut fit: KMeansFit, threshold: f64, max_iter: usize) -> KMeansFit {
    let k = fit.centroids.nrows();
    for _ in 0..REFINE_ROUNDS {
        let mut label: Vec<usize> = (0..points.len())
            .map(|i| nearest(&fit.centroids, points.row(i)))
            .collect();
        let moved = hartigan(points, &mut label, k, max_iter);
        let split = split_pairs(points, &mut label, k);
        if !(moved || split) {
            break;
        }
        let centres = ClusterSums::of(points, &label, k).centres();
        let again = lloyd(points, centres, threshold, max_iter, fit.best_init);
        if again.cost >= fit.cost * (1.0 - 1e-12) {
            break;
        }
        fit = KMeansFit {
            iterations: fit.iterations + again.iterations,
            ..again
        };
    }
    fit
}

/// A labelling's clusters in sums: enough for their centroids and their costs.
struct ClusterSums {
    d: usize,
    /// Weighted sums of the points, `k x d` row-major.
    sums: Vec<f64>,
    /// Weights (rows).
    counts: Vec<f64>,
    /// Weighted sums of the points' squared norms.
    squares: Vec<f64>,
}

impl ClusterSums {
    fn of(points: &Points<'_>, label: &[usize], k: usize) -> Self {
        let d = points.d;
        let (mut sums, mut counts, mut squares) = (vec![0.0; k * d], vec![0.0; k], vec![0.0; k]);
        for (i, &c) in label.iter().enumerate() {
            let (x, w) = (points.row(i), points.weight(i));
            counts[c] += w;
            squares[c] += w * dot(x, x);
            for (s, x) in sums[c * d..(c + 1) * d].iter_mut().zip(x) {
                *s += w * x;
            }
        }
        Self {
            d,
            sums,
            counts,
            squares,
        }
    }

    fn sum(&self, c: usize) -> &[f64] {
        &self.sums[c * self.d..(c + 1) * self.d]
    }

    /// The centroids, `k x d` row-major (an empty cluster's at the origin).
    fn centres(&self) -> Vec<f64> {
        (0..self.sums.len())
            .map(|i| self.sums[i] / self.counts[i / self.d].max(1.0))
            .collect()
    }
}

/// The cost of a group of points from its weight, weighted sum and weighted sum of squared norms.
fn group_cost(w: f64, sum: &[f64], squares: f64) -> f64 {
    if w > 0.0 {
        squares - dot(sum, sum) / w
    } else {
        0.0
    }
}

/// Hartigan's single moves over `label` until none lowers the cost (or `max_iter` passes);
/// whether any point moved. A move never empties a cluster.
fn hartigan(points: &Points<'_>, label: &mut [usize], k: usize, max_iter: usize) -> bool {
    let d = points.d;
    let clusters = ClusterSums::of(points, label, k);
    let mut centres = clusters.centres();
    let (mut sums, mut counts) = (clusters.sums, clusters.counts);
    let mut any = false;
    for _ in 0..max_iter {
        let mut moved = false;
        for (i, own) in label.iter_mut().enumerate() {
            let (x, w, a) = (points.row(i), points.weight(i), *own);
            if counts[a] <= w {
                continue; // it would empty its cluster
            }
            let dist = |c: usize| sq_dist(x, &centres[c * d..(c + 1) * d]);
            let leave = w * counts[a] / (counts[a] - w) * dist(a);
            let Some((join, b)) = (0..k)
                .filter(|&c| c != a)
                .map(|c| (w * counts[c] / (counts[c] + w) * dist(c), c))
                .min_by(|p, q| p.0.total_cmp(&q.0))
            else {
                return false; // k = 1
            };
            // A margin against rounding: a move must lower the cost by more than noise.
            if join < leave * (1.0 - 1e-12) {
                for (c, sign) in [(a, -1.0), (b, 1.0)] {
                    counts[c] += sign * w;
                    for j in 0..d {
                        sums[c * d + j] += sign * w * x[j];
                        centres[c * d + j] = sums[c * d + j] / counts[c];
                    }
                }
                *own = b;
                moved = true;
            }
        }
        if !moved {
            break;
        }
        any = true;
    }
    any
}

/// For each pair of clusters, the cheapest cut of their points sorted along the line through
/// their centroids, taken when it is cheaper than the pair as it stands; whether any was.
fn split_pairs(points: &Points<'_>, label: &mut [usize], k: usize) -> bool {
    let d = points.d;
    let mut any = false;
    for a in 0..k {
        for b in a + 1..k {
            let c = ClusterSums::of(points, label, k);
            if c.counts[a] == 0.0 || c.counts[b] == 0.0 {
                continue;
            }
            let direction: Vec<f64> = (0..d)
                .map(|j| c.sum(b)[j] / c.counts[b] - c.sum(a)[j] / c.counts[a])
                .collect();
            let mut order: Vec<(f64, usize)> = (0..points.len())
                .filter(|&i| label[i] == a || label[i] == b)
                .map(|i| (dot(points.row(i), &direction), i))
                .collect();
            order.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
            let current = group_cost(c.counts[a], c.sum(a), c.squares[a])
                + group_cost(c.counts[b], c.sum(b), c.squares[b]);
            let total_w = c.counts[a] + c.counts[b];
            let total_q = c.squares[a] + c.squares[b];
            let total_s: Vec<f64> = (0..d).map(|j| c.sum(a)[j] + c.sum(b)[j]).collect();
            let (mut w, mut s, mut q) = (0.0, vec![0.0; d], 0.0);
            let mut best: Option<(f64, usize)> = None;
            for (cut, &(_, i)) in order.iter().enumerate().take(order.len().saturating_sub(1)) {
                let (x, weight) = (points.row(i), points.weight(i));
                w += weight;
                q += weight * dot(x, x);
                for j in 0..d {
                    s[j] += weight * x[j];
                }
                let rest: Vec<f64> = (0..d).map(|j| total_s[j] - s[j]).collect();
                let cost = group_cost(w, &s, q) + group_cost(total_w - w, &rest, total_q - q);
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, cut));
                }
            }
            if let Some((cost, cut)) = best
                && cost < current * (1.0 - 1e-12)
            {
                for (n, &(_, i)) in order.iter().enumerate() {
                    label[i] = if n <= cut { a } else { b };
                }
                any = true;
            }
        }
    }
    any
}

/// Assigns each point to its nearest centre, filling per-cluster weighted sums and counts; returns
/// the cost. Common feature counts get a loop whose row length is known at compile time.
fn assign(points: &Points<'_>, centres: &[f64], sums: &mut [f64], counts: &mut [f64]) -> f64 {
    let values = &points.values;
    match (&points.weights, points.d) {
        (Some(w), 2) => assign_fixed::<2>(values, w.iter().copied(), centres, sums, counts),
        (Some(w), 3) => assign_fixed::<3>(values, w.iter().copied(), centres, sums, counts),
        (Some(w), 4) => assign_fixed::<4>(values, w.iter().copied(), centres, sums, counts),
        (None, 2) => assign_fixed::<2>(values, std::iter::repeat(1.0), centres, sums, counts),
        (None, 3) => assign_fixed::<3>(values, std::iter::repeat(1.0), centres, sums, counts),
        (None, 4) => assign_fixed::<4>(values, std::iter::repeat(1.0), centres, sums, counts),
        _ => assign_any(points, centres, sums, counts),
    }
}

fn assign_fixed<const D: usize>(
    values: &[f64],
    weights: impl Iterator<Item = f64>,
    centres: &[f64],
    sums: &mut [f64],
    counts: &mut [f64],
) -> f64 {
    let (rows, _) = values.as_chunks::<D>();
    let (cs, _) = centres.as_chunks::<D>();
    let dot = |a: &[f64; D], b: &[f64; D]| (0..D).map(|j| a[j] * b[j]).sum::<f64>();
    let norms: Vec<f64> = cs.iter().map(|c| dot(c, c)).collect();
    let mut local = vec![[0.0f64; D]; cs.len()];
    counts.fill(0.0);
    let mut cost = 0.0;
    for (x, w) in rows.iter().zip(weights) {
        let mut best = 0;
        let mut best_score = f64::INFINITY;
        for (c, centre) in cs.iter().enumerate() {
            let score = norms[c] - 2.0 * dot(x, centre);
            if score < best_score {
                best_score = score;
                best = c;
            }
        }
        cost += w * (best_score + dot(x, x)).max(0.0);
        counts[best] += w;
        for j in 0..D {
            local[best][j] += w * x[j];
        }
    }
    for (s, l) in sums.chunks_exact_mut(D).zip(&local) {
        s.copy_from_slice(l);
    }
    cost
}

fn assign_any(points: &Points<'_>, centres: &[f64], sums: &mut [f64], counts: &mut [f64]) -> f64 {
    let d = points.d;
    let k = counts.len();
    sums.fill(0.0);
    counts.fill(0.0);
    // argmin ||x - c||² = argmin (||c||² - 2 x·c): one dot product per centre.
    let norms: Vec<f64> = (0..k)
        .map(|c| dot(&centres[c * d..(c + 1) * d], &centres[c * d..(c + 1) * d]))
        .collect();
    let mut cost = 0.0;
    for i in 0..points.len() {
        let x = points.row(i);
        let w = points.weight(i);
        let mut best = 0;
        let mut best_score = f64::INFINITY;
        for c in 0..k {
            let score = norms[c] - 2.0 * dot(x, &centres[c * d..(c + 1) * d]);
            if score < best_score {
                best_score = score;
                best = c;
            }
        }
        cost += w * (best_score + dot(x, x)).max(0.0);
        counts[best] += w;
        for (s, v) in sums[best * d..(best + 1) * d].iter_mut().zip(x) {
            *s += w * v;
        }
    }
    cost
}

fn farthest(points: &Points<'_>, centres: &[f64]) -> usize {
    let d = points.d;
    let mut best = (f64::NEG_INFINITY, 0);
    for i in 0..points.len() {
        let x = points.row(i);
        let dist = centres
            .chunks_exact(d)
            .map(|c| sq_dist(x, c))
            .fold(f64::INFINITY, f64::min);
        if dist > best.0 {
            best = (dist, i);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand_distr_free::normal;

    /// Box–Muller, so the tests need no distribution crate.
    mod rand_distr_free {
        use rand::Rng;
        pub(super) fn normal(rng: &mut impl Rng) -> f64 {
            let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    pub(crate) fn blobs(centres: &Array2<f64>, per: usize, spread: f64, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let d = centres.ncols();
        let mut out = Array2::zeros((centres.nrows() * per, d));
        for (c, centre) in centres.rows().into_iter().enumerate() {
            for i in 0..per {
                for j in 0..d {
                    out[[c * per + i, j]] = centre[j] + spread * normal(&mut rng);
                }
            }
        }
        out
    }

    fn sorted_rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
        let mut v: Vec<Vec<f64>> = a.rows().into_iter().map(|r| r.to_vec()).collect();
        v.sort_by(|a, b| a[0].total_cmp(&b[0]));
        v
    }

    #[test]
    fn recovers_blobs() {
        let truth = array![[1.0, 2.0, 50.0], [5.0, 100.0, 300.0], [3.0, 10.0, 900.0]];
        let data = blobs(&truth, 2000, 1.0, 7);
        let fit = fit(data.view(), &ValidParams::default());
        assert!(fit.converged);
        assert_eq!(fit.sizes, vec![2000, 2000, 2000]);
        for (got, want) in sorted_rows(&fit.centroids).iter().zip(sorted_rows(&truth)) {
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 0.1, "centroid {got:?} is not near {want:?}");
            }
        }
        // The cost is the sum of squared distances: about n·d·spread².
        assert!(
            (fit.cost / (6000.0 * 3.0) - 1.0).abs() < 0.1,
            "cost {}",
            fit.cost
        );
        let s = silhouette(data.view(), &labels(data.view(), &fit.centroids), 3).unwrap();
        assert!(
            s > 0.9,
            "well separated blobs have a silhouette near 1, got {s}"
        );
    }

    #[test]
    fn parameters_are_checked_before_any_fit() {
        let p = KMeansParams::default;
        assert_eq!(KMeansParams { k: 0, ..p() }.check(), Err(InvalidParams::K));
        for tolerance in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                KMeansParams { tolerance, ..p() }.check(),
                Err(InvalidParams::Tolerance(_))
            ));
        }
        assert_eq!(
            KMeansParams { max_iter: 0, ..p() }.check(),
            Err(InvalidParams::MaxIter)
        );
        assert_eq!(
            KMeansParams { n_init: 0, ..p() }.check(),
            Err(InvalidParams::NInit)
        );
        assert!(p().check().is_ok());
    }

    #[test]
    fn no_single_move_lowers_the_cost_of_a_fit() {
        // Overlapping blobs and more clusters than blobs: Lloyd alone stops in many local optima.
        let truth = array![[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]];
        let data = blobs(&truth, 300, 1.5, 9);
        let rows = RowMajor::new(data.view());
        let points = Points::new(&rows);
        let mut improved = 0;
        for seed in 0..20 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let init = kmeans_plus_plus(&points, 6, &mut rng);
            let lloyd_only = lloyd(&points, init, 1e-12, 300, 0);
            let refined = refine(&points, lloyd_only.clone(), 1e-12, 300);
            assert!(refined.cost <= lloyd_only.cost, "seed {seed}");
            improved += usize::from(refined.cost < lloyd_only.cost * (1.0 - 1e-9));
            // Hartigan-optimal: moving any point elsewhere, centroids following, costs more.
            let c = &refined.centroids;
            let sizes: Vec<f64> = refined.sizes.iter().map(|&s| s as f64).collect();
            for x in data.rows() {
                let x = x.to_vec();
                let a = nearest(c, &x);
                if sizes[a] <= 1.0 {
                    continue;
                }
                let dist = |j: usize| sq_dist(&x, c.row(j).as_slice().unwrap());
                let leave = sizes[a] / (sizes[a] - 1.0) * dist(a);
                for b in (0..6).filter(|&b| b != a) {
                    let join = sizes[b] / (sizes[b] + 1.0) * dist(b);
                    assert!(
                        join >= leave * (1.0 - 1e-9),
                        "seed {seed}: a move lowers the cost"
                    );
                }
            }
        }
        assert!(
            improved > 0,
            "no start was improved: the test data is too easy"
        );
    }

    #[test]
    fn same_seed_same_result_whatever_the_threads() {
        let truth = array![[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]];
        let data = blobs(&truth, 500, 1.5, 3);
        let p = |threads| KMeansParams {
            k: 4,
            threads,
            ..KMeansParams::default()
        };
        let a = fit(data.view(), &p(1).check().unwrap());
        let b = fit(data.view(), &p(2).check().unwrap());
        let c = fit(data.view(), &p(2).check().unwrap());
        assert_eq!(a, b);
        assert_eq!(b, c);
        let other = fit(
            data.view(),
            &KMeansParams { seed: 43, ..p(2) }.check().unwrap(),
        );
        assert!(other.cost.is_finite());
    }

    /// The cost and sizes of a fit are those of the rows, whether Lloyd ran on the rows or on
    /// the distinct rows with their counts.
    fn assert_cost_and_sizes_are_the_rows(data: &Array2<f64>, fit: &KMeansFit) {
        let labels = labels(data.view(), &fit.centroids);
        let brute: f64 = data
            .rows()
            .into_iter()
            .zip(&labels)
            .map(|(r, &c)| {
                sq_dist(
                    r.as_slice().unwrap(),
                    fit.centroids.row(c).as_slice().unwrap(),
                )
            })
            .sum();
        assert!(
            (fit.cost - brute).abs() <= 1e-9 * brute,
            "{} vs {brute}",
            fit.cost
        );
        let mut sizes = vec![0u64; fit.centroids.nrows()];
        labels.iter().for_each(|&c| sizes[c] += 1);
        assert_eq!(fit.sizes, sizes);
    }

    #[test]
    fn repeated_rows_fit_as_their_distinct_rows_weighted() {
        // Integer features with many repeats, as review ratings, likes and lengths are.
        let truth = array![[1.0, 0.0, 20.0], [5.0, 3.0, 300.0], [3.0, 40.0, 120.0]];
        let data = blobs(&truth, 3000, 2.0, 5).mapv(f64::round);
        let rows = RowMajor::new(data.view());
        let points = Points::new(&rows);
        assert!(points.weights.is_some(), "{} distinct rows", points.len());
        assert_eq!(points.weights.as_ref().unwrap().iter().sum::<f64>(), 9000.0);
        let fit = fit(data.view(), &ValidParams::default());
        assert_cost_and_sizes_are_the_rows(&data, &fit);
        for (got, want) in sorted_rows(&fit.centroids).iter().zip(sorted_rows(&truth)) {
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 0.2, "centroid {got:?} is not near {want:?}");
            }
        }
    }

    #[test]
    fn cost_matches_a_brute_force_sum() {
        let truth = array![[0.0, 0.0, 0.0], [10.0, 10.0, 10.0], [20.0, 0.0, 5.0]];
        let data = blobs(&truth, 300, 3.0, 11);
        let fit = fit(data.view(), &ValidParams::default());
        assert!(Points::new(&RowMajor::new(data.view())).weights.is_none());
        assert_cost_and_sizes_are_the_rows(&data, &fit);
        assert_eq!(fit.sizes.iter().sum::<u64>(), 900);
    }

    #[test]
    fn silhouette_matches_the_pairwise_definition() {
        let data = array![
            [0.0, 0.0],
            [0.0, 1.0],
            [1.0, 0.0],
            [9.0, 9.0],
            [9.0, 10.0],
            [10.0, 9.0],
            [5.0, 5.0]
        ];
        let centroids = array![[0.3, 0.3], [9.3, 9.3]];
        let labels: Vec<usize> = data
            .rows()
            .into_iter()
            .map(|r| nearest(&centroids, r.as_slice().unwrap()))
            .collect();
        let n = data.nrows();
        let mut total = 0.0;
        for i in 0..n {
            let mean_to = |c: usize, skip: bool| {
                let members: Vec<usize> = (0..n)
                    .filter(|&j| labels[j] == c && !(skip && j == i))
                    .collect();
                members
                    .iter()
                    .map(|&j| {
                        sq_dist(
                            data.row(i).as_slice().unwrap(),
                            data.row(j).as_slice().unwrap(),
                        )
                    })
                    .sum::<f64>()
                    / members.len() as f64
            };
            let a = mean_to(labels[i], true);
            let b = mean_to(1 - labels[i], false);
            total += (b - a) / a.max(b);
        }
        let exact = total / n as f64;
        let fast = silhouette(data.view(), &labels, 2).unwrap();
        assert!((exact - fast).abs() < 1e-9, "{exact} vs {fast}");
    }
}
