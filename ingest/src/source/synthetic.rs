//! Seeded reviews with the dataset's shape: ratings mostly 1 and 5, likes mostly 0 with a long
//! tail, skewed text lengths, some empty app versions, and non-ASCII text.

use std::fmt::Write;

use chrono::DateTime;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{Result, record::ReviewRecord};

const WORDS: &[&str] = &[
    "great",
    "app",
    "Netflix",
    "love",
    "it",
    "the",
    "shows",
    "movies",
    "but",
    "keeps",
    "crashing",
    "after",
    "update",
    "can't",
    "log",
    "in",
    "please",
    "fix",
    "subscription",
    "price",
    "too",
    "high",
    "good",
    "bad",
    "worst",
    "best",
    "ever",
    "downloads",
    "don't",
    "work",
    "offline",
    "subtitles",
    "are",
    "out",
    "of",
    "sync",
    "very",
    "nice",
    "streaming",
    "quality",
    "on",
    "my",
    "phone",
    "tablet",
    "TV",
    "buffering",
    "all",
    "the",
    "time",
    "😍",
    "👍",
    "😡",
    "🎬",
    "très",
    "bien",
    "película",
    "genial",
    "schlecht",
    "ótimo",
    "こんにちは",
    "and",
    "a",
    "lot",
    "more",
    "content",
    "would",
    "be",
    "nice",
    "password",
    "sharing",
    "ads",
    "plan",
    "account",
];

const NAMES: &[&str] = &[
    "Maria", "John", "Aarav", "Sofía", "Chen", "Fatima", "Lukas", "Olga", "Kwame", "Zoë", "Ravi",
    "Emily", "José", "Yuki", "Ahmed", "Anna",
];

const SURNAMES: &[&str] = &[
    "Silva", "Smith", "Patel", "García", "Wang", "Khan", "Müller", "Ivanova", "Mensah", "Dubois",
    "Kumar", "Jones", "Núñez", "Sato", "Hassan", "Nowak",
];

/// Star weights for 1..=5, shaped like the public dataset (1 and 5 dominate).
const RATING_WEIGHTS: [f64; 5] = [0.32, 0.08, 0.08, 0.09, 0.43];

/// A deterministic generator: the same seed gives the same reviews, in the same order.
pub struct SyntheticSource {
    rng: ChaCha8Rng,
    remaining: u64,
    index: u64,
    start_ts: i64,
}

impl SyntheticSource {
    /// `count` reviews from `seed`.
    pub fn new(count: u64, seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            remaining: count,
            index: 0,
            // 2019-01-01 00:00:00 UTC
            start_ts: 1_546_300_800,
        }
    }

    fn rating(&mut self) -> u8 {
        let mut u: f64 = self.rng.random();
        for (i, w) in RATING_WEIGHTS.iter().enumerate() {
            if u < *w {
                return i as u8 + 1;
            }
            u -= w;
        }
        5
    }

    fn likes(&mut self) -> u64 {
        if self.rng.random_bool(0.78) {
            return 0;
        }
        // Pareto tail (alpha 1.1): most are a few likes, some reach the thousands.
        let u: f64 = self.rng.random_range(1e-6..1.0);
        (u.powf(-1.0 / 1.1)).floor().min(50_000.0) as u64
    }

    fn text(&mut self, out: &mut String) {
        if self.rng.random_bool(0.02) {
            return;
        }
        // Log-normal length: median about 40 characters, a tail up to 500.
        let normal: f64 = {
            let (u1, u2): (f64, f64) = (self.rng.random_range(1e-9..1.0), self.rng.random());
            (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
        };
        let target = (3.7 + 1.0 * normal).exp().clamp(2.0, 500.0) as usize;
        let mut chars = 0;
        while chars < target {
            let word = WORDS[self.rng.random_range(0..WORDS.len())];
            let sep = match self.rng.random_range(0..40) {
                0 => ", ",
                1 => ". ",
                2 => "\n",
                3 => " \"",
                _ => " ",
            };
            if chars > 0 {
                out.push_str(sep);
                chars += sep.chars().count();
            }
            out.push_str(word);
            chars += word.chars().count();
        }
        // Stay within the dataset's ~500 characters.
        if chars > 500 {
            let cut = out.char_indices().nth(500).map_or(out.len(), |(i, _)| i);
            out.truncate(cut);
        }
    }

    fn next_record(&mut self) -> ReviewRecord {
        let r = &mut self.rng;
        let id: u128 = r.random();
        let review_id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            (id >> 96) as u32,
            (id >> 80) as u16,
            (id >> 68) as u16 & 0xfff,
            ((id >> 52) as u16 & 0x3fff) | 0x8000,
            id as u64 & 0xffff_ffff_ffff
        );
        let pseudo_author_id = format!("{:021}", r.random_range(0..10u128.pow(21)));
        let author_name = if r.random_bool(0.35) {
            "A Google user".to_string()
        } else {
            format!(
                "{} {}",
                NAMES[r.random_range(0..NAMES.len())],
                SURNAMES[r.random_range(0..SURNAMES.len())]
            )
        };
        let author_app_version = if r.random_bool(0.14) {
            String::new()
        } else {
            let minor = r.random_range(0..130);
            let mut v = format!("8.{minor}.{}", r.random_range(0..3));
            let _ = write!(
                v,
                " build {} {}",
                r.random_range(1..30),
                40_000 + minor * 100
            );
            v
        };
        // Arrival order is roughly time order: about one review per 100 s, with jitter.
        let ts = self.start_ts + self.index as i64 * 100 + r.random_range(-40..40);
        let review_timestamp = DateTime::from_timestamp(ts, 0)
            .unwrap_or_default()
            .naive_utc()
            .format("%Y-%m-%d %H:%M:%S")
            .to_string();
        let review_rating = self.rating().to_string();
        let review_likes = self.likes().to_string();
        let mut review_text = String::new();
        self.text(&mut review_text);
        self.index += 1;
        ReviewRecord {
            review_id,
            pseudo_author_id,
            author_name,
            review_text,
            review_rating,
            review_likes,
            author_app_version,
            review_timestamp,
        }
    }
}

impl Iterator for SyntheticSource {
    type Item = Result<ReviewRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(Ok(self.next_record()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.remaining as usize;
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(n: u64, seed: u64) -> Vec<ReviewRecord> {
        SyntheticSource::new(n, seed).map(|r| r.unwrap()).collect()
    }

    #[test]
    fn same_seed_same_reviews() {
        assert_eq!(take(200, 7), take(200, 7));
        assert_ne!(take(200, 7), take(200, 8));
    }

    #[test]
    fn distributions_look_like_the_dataset() {
        let rows = take(20_000, 42);
        let share = |f: &dyn Fn(&ReviewRecord) -> bool| {
            rows.iter().filter(|r| f(r)).count() as f64 / rows.len() as f64
        };
        let ones_and_fives = share(&|r| r.review_rating == "1" || r.review_rating == "5");
        assert!(ones_and_fives > 0.65, "{ones_and_fives}");
        assert!(share(&|r| r.review_likes == "0") > 0.7);
        assert!(
            rows.iter()
                .any(|r| r.review_likes.parse::<u64>().unwrap() >= 1000)
        );
        let empty_version = share(&|r| r.author_app_version.is_empty());
        assert!((0.08..0.2).contains(&empty_version), "{empty_version}");
        assert!(share(&|r| !r.review_text.is_ascii()) > 0.05);
        assert!(rows.iter().all(|r| r.review_text.chars().count() <= 500));
        let ids: std::collections::HashSet<_> = rows.iter().map(|r| &r.review_id).collect();
        assert_eq!(ids.len(), rows.len());
    }
}
