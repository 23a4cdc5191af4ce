//! The `.sql` files users read and edit: views (`sql/views/*.sql`) and training cohorts
//! (`sql/cohorts/*.sql`). Loaded from a folder at run time; the shipped copies are compiled in as
//! the fallback when no folder is found.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

const SHIPPED_COHORTS: [(&str, &str); 3] = [
    ("model_1", include_str!("../../sql/cohorts/model_1.sql")),
    ("model_2", include_str!("../../sql/cohorts/model_2.sql")),
    ("model_3", include_str!("../../sql/cohorts/model_3.sql")),
];

const SHIPPED_VIEWS: [(&str, &str); 1] = [(
    "reviews_daily",
    include_str!("../../sql/views/reviews_daily.sql"),
)];

/// One named SQL text and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlFile {
    pub name: String,
    /// The file it was read from, or `None` for the compiled-in copy.
    pub path: Option<PathBuf>,
    pub text: String,
}

/// Where the SQL files are.
#[derive(Debug, Clone, Default)]
pub struct SqlFiles {
    dir: Option<PathBuf>,
}

impl SqlFiles {
    /// Files under `dir` (its `views/` and `cohorts/` folders); with `None`, the compiled-in copies.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// `dir` when it exists, else the compiled-in copies.
    pub fn discover(dir: &Path) -> Self {
        Self::new(dir.is_dir().then(|| dir.to_path_buf()))
    }

    /// The views, in name order.
    pub fn views(&self) -> Result<Vec<SqlFile>> {
        self.load("views", &SHIPPED_VIEWS)
    }

    /// The training cohorts, in name order.
    pub fn cohorts(&self) -> Result<Vec<SqlFile>> {
        self.load("cohorts", &SHIPPED_COHORTS)
    }

    /// One cohort by name, or an error that lists the available ones.
    pub fn cohort(&self, name: &str) -> Result<SqlFile> {
        let all = self.cohorts()?;
        let names: Vec<String> = all.iter().map(|c| c.name.clone()).collect();
        all.into_iter()
            .find(|c| c.name == name)
            .ok_or_else(|| Error::Sql {
                file: name.to_string(),
                reason: format!("no such cohort (available: {})", names.join(", ")),
            })
    }

    fn load(&self, kind: &str, shipped: &[(&str, &str)]) -> Result<Vec<SqlFile>> {
        let Some(dir) = &self.dir else {
            return Ok(shipped
                .iter()
                .map(|(name, text)| SqlFile {
                    name: name.to_string(),
                    path: None,
                    text: text.to_string(),
                })
                .collect());
        };
        let folder = dir.join(kind);
        if !folder.is_dir() {
            return Ok(Vec::new());
        }
        let io = |e: std::io::Error| Error::Sql {
            file: folder.display().to_string(),
            reason: e.to_string(),
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("sql") {
                continue;
            }
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Error::Sql {
                    file: path.display().to_string(),
                    reason: "file names must be letters, digits and '_' (the name becomes an identifier)".into(),
                });
            }
            let text = std::fs::read_to_string(&path).map_err(|e| Error::Sql {
                file: path.display().to_string(),
                reason: e.to_string(),
            })?;
            files.push(SqlFile {
                name,
                path: Some(path),
                text,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }
}

impl SqlFile {
    /// Where the text came from, for messages.
    pub fn origin(&self) -> String {
        self.path.as_ref().map_or_else(
            || format!("{} (built in)", self.name),
            |p| p.display().to_string(),
        )
    }

    /// The text with `${name}` placeholders replaced.
    pub fn render(&self, params: &[(&str, String)]) -> String {
        let mut text = self.text.clone();
        for (k, v) in params {
            text = text.replace(&format!("${{{k}}}"), v);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_cohorts_are_the_three_models() {
        let names: Vec<_> = SqlFiles::new(None)
            .cohorts()
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["model_1", "model_2", "model_3"]);
    }

    #[test]
    fn a_new_file_in_the_folder_is_picked_up() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cohorts")).unwrap();
        std::fs::write(dir.path().join("cohorts/model_4.sql"), "SELECT 1").unwrap();
        std::fs::write(dir.path().join("cohorts/notes.txt"), "ignored").unwrap();
        let files = SqlFiles::discover(dir.path());
        assert_eq!(files.cohort("model_4").unwrap().text, "SELECT 1");
        let err = files.cohort("model_9").unwrap_err().to_string();
        assert!(err.contains("available: model_4"), "{err}");
    }

    #[test]
    fn placeholders_are_replaced() {
        let f = SqlFile {
            name: "x".into(),
            path: None,
            text: "LIMIT ${cohort_rows} OFFSET 2 * ${cohort_rows}".into(),
        };
        assert_eq!(
            f.render(&[("cohort_rows", "10".into())]),
            "LIMIT 10 OFFSET 2 * 10"
        );
    }
}
