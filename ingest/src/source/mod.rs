//! Where produced reviews come from: the dataset's CSV file or a seeded generator.

mod csv;
mod synthetic;

pub use self::csv::CsvSource;
pub use synthetic::SyntheticSource;
