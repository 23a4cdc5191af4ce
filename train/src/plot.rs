//! The cluster plot: an SVG a person can read, drawn by hand (no plotting dependency).
//!
//! Two panels share the x axis (review length): likes against length, and rating against length
//! (ratings jittered so the five levels show as bands). Each axis switches to a log scale
//! (`log10(1 + x)`) when its data is skewed. Centroids are marked with a cross and their size.

use std::fmt::Write;

use ndarray::{Array2, ArrayView2};

const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const SAMPLE: usize = 4000;
const W: f64 = 470.0;
const H: f64 = 380.0;
const MARGIN: (f64, f64, f64, f64) = (60.0, 20.0, 40.0, 50.0); // left, right, top, bottom

/// What the plot shows.
pub struct PlotInput<'a> {
    pub title: String,
    pub features: &'a [String],
    /// Raw rows (`n x d`).
    pub data: ArrayView2<'a, f64>,
    pub labels: &'a [usize],
    /// Raw-unit centroids (`k x d`).
    pub centroids: &'a Array2<f64>,
    pub sizes: &'a [u64],
}

struct Axis {
    label: String,
    log: bool,
    lo: f64,
    hi: f64,
}

impl Axis {
    fn new(label: &str, values: impl Iterator<Item = f64> + Clone) -> Self {
        let mut sorted: Vec<f64> = values.filter(|v| v.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let (min, max) = (
            sorted.first().copied().unwrap_or(0.0),
            sorted.last().copied().unwrap_or(1.0),
        );
        let median = sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let log = min >= 0.0 && max > 20.0 * (median.abs() + 1.0);
        let mut axis = Self {
            label: label.to_string(),
            log,
            lo: 0.0,
            hi: 1.0,
        };
        let (lo, hi) = (axis.scale(min), axis.scale(max));
        let pad = ((hi - lo) * 0.05).max(0.5);
        axis.lo = if log { 0.0f64.max(lo - pad) } else { lo - pad };
        axis.hi = hi + pad;
        axis
    }

    fn scale(&self, v: f64) -> f64 {
        if self.log {
            v.max(0.0).ln_1p() / std::f64::consts::LN_10
        } else {
            v
        }
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            let mut out = vec![(0.0, "0".to_string())];
            let mut p = 1.0f64;
            while self.scale(p) <= self.hi {
                out.push((p, fmt_num(p)));
                p *= 10.0;
            }
            out.retain(|(v, _)| self.scale(*v) >= self.lo);
            return out;
        }
        let span = self.hi - self.lo;
        let raw = span / 6.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(mag * 10.0);
        let mut v = (self.lo / step).ceil() * step;
        let mut out = Vec::new();
        while v <= self.hi {
            out.push((v, fmt_num(v + 0.0))); // + 0.0 turns -0 into 0
            v += step;
        }
        out
    }

    fn title(&self) -> String {
        if self.log {
            format!("{} (log scale)", self.label)
        } else {
            self.label.clone()
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 && (v / 1000.0).fract() == 0.0 {
        format!("{}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn index(features: &[String], name: &str, fallback: usize) -> usize {
    features
        .iter()
        .position(|f| f == name)
        .unwrap_or(fallback.min(features.len().saturating_sub(1)))
}

/// Renders the plot as an SVG document.
pub fn svg(input: &PlotInput<'_>) -> String {
    let n = input.data.nrows();
    let step = n.div_ceil(SAMPLE).max(1);
    let sample: Vec<usize> = (0..n).step_by(step).collect();
    let (xi, yi1, yi2) = (
        index(input.features, "length", 2),
        index(input.features, "likes", 1),
        index(input.features, "rating", 0),
    );
    let col = |j: usize| sample.iter().map(move |&i| input.data[[i, j]]);
    let x = Axis::new(&input.features[xi], col(xi));
    let y1 = Axis::new(&input.features[yi1], col(yi1));
    let y2 = Axis::new(&input.features[yi2], col(yi2));
    let width = 2.0 * W;
    let height = H + 70.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        width / 2.0,
        escape(&input.title)
    );
    for (panel, (y, yj, jitter)) in [(&y1, yi1, false), (&y2, yi2, true)]
        .into_iter()
        .enumerate()
    {
        let ox = panel as f64 * W;
        panel_svg(&mut s, input, &sample, (&x, xi), (y, yj), jitter, ox);
    }
    // Legend.
    let mut lx = 70.0;
    let ly = H + 55.0;
    for (c, size) in input.sizes.iter().enumerate() {
        let colour = COLOURS[c % COLOURS.len()];
        let _ = writeln!(
            s,
            r#"<circle cx="{lx}" cy="{ly}" r="5" fill="{colour}"/><text x="{}" y="{}">cluster {c}: {size} rows</text>"#,
            lx + 9.0,
            ly + 4.0
        );
        lx += 190.0;
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" fill="#444">× centroid · {} of {n} rows shown</text>"##,
        lx,
        ly + 4.0,
        sample.len()
    );
    s.push_str("</svg>\n");
    s
}

fn panel_svg(
    s: &mut String,
    input: &PlotInput<'_>,
    sample: &[usize],
    (x, xj): (&Axis, usize),
    (y, yj): (&Axis, usize),
    jitter: bool,
    ox: f64,
) {
    let (ml, mr, mt, mb) = MARGIN;
    let (left, right, top, bottom) = (ox + ml, ox + W - mr, mt, H - mb + mt);
    let px = |v: f64| left + (x.scale(v) - x.lo) / (x.hi - x.lo) * (right - left);
    let py = |v: f64| bottom - (y.scale(v) - y.lo) / (y.hi - y.lo) * (bottom - top);
    let _ = writeln!(
        s,
        r##"<rect x="{left}" y="{top}" width="{}" height="{}" fill="#fafafa" stroke="#999"/>"##,
        right - left,
        bottom - top
    );
    for (v, label) in x.ticks() {
        let p = px(v);
        let _ = writeln!(
            s,
            r##"<line x1="{p}" y1="{top}" x2="{p}" y2="{bottom}" stroke="#e4e4e4"/><text x="{p}" y="{}" text-anchor="middle">{label}</text>"##,
            bottom + 16.0
        );
    }
    for (v, label) in y.ticks() {
        let p = py(v);
        let _ = writeln!(
            s,
            r##"<line x1="{left}" y1="{p}" x2="{right}" y2="{p}" stroke="#e4e4e4"/><text x="{}" y="{}" text-anchor="end">{label}</text>"##,
            left - 6.0,
            p + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (left + right) / 2.0,
        bottom + 34.0,
        escape(&x.title())
    );
    let (cx, cy) = (ox + 16.0, (top + bottom) / 2.0);
    let _ = writeln!(
        s,
        r#"<text x="{cx}" y="{cy}" text-anchor="middle" transform="rotate(-90 {cx} {cy})">{}</text>"#,
        escape(&y.title())
    );
    for (n, &i) in sample.iter().enumerate() {
        let c = input.labels[i];
        // A deterministic jitter of ±0.3 so the integer ratings show as bands, not lines.
        let j = if jitter {
            ((n * 7919) % 601) as f64 / 1000.0 - 0.3
        } else {
            0.0
        };
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="1.8" fill="{}" fill-opacity="0.45"/>"#,
            px(input.data[[i, xj]]),
            py(input.data[[i, yj]] + j),
            COLOURS[c % COLOURS.len()]
        );
    }
    for (c, centre) in input.centroids.rows().into_iter().enumerate() {
        let (cx, cy) = (px(centre[xj]), py(centre[yj]));
        let colour = COLOURS[c % COLOURS.len()];
        let _ = writeln!(
            s,
            r#"<path d="M{a} {b} L{c2} {d} M{a} {d} L{c2} {b}" stroke="black" stroke-width="6"/><path d="M{a} {b} L{c2} {d} M{a} {d} L{c2} {b}" stroke="{colour}" stroke-width="3"/><text x="{}" y="{}" font-weight="bold">C{c}</text>"#,
            cx + 10.0,
            cy - 8.0,
            a = cx - 8.0,
            b = cy - 8.0,
            c2 = cx + 8.0,
            d = cy + 8.0,
        );
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
