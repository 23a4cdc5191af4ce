//! Model artifacts in the object store: one folder per model and version, never overwritten, and
//! a pointer to the current version written last.
//!
//! ```text
//! models/{model}/versions/{version:06}-{nonce}/model.json    the model document
//! models/{model}/versions/{version:06}-{nonce}/lineage.json  every lake file the cohort saw
//! models/{model}/versions/{version:06}-{nonce}/plot.svg      clusters, for people
//! models/{model}/versions/{version:06}-{nonce}/report.md     a short report
//! models/{model}/CURRENT                                     {"version", "dir", "sha256"}
//! ```
//!
//! The random nonce keeps two trainers that pick the same version number from writing into one
//! folder, even on stores that ignore create-only puts. `CURRENT` names the folder and the
//! SHA-256 of its `model.json`, so a reader that sees the pointer finds a complete version and can
//! tell a damaged one.

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
pub use lake::hex_sha256;
use ndarray::Array2;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutPayload, path::Path};
use serde::{Deserialize, Serialize};

use crate::{Error, Result, Transform, kmeans};

/// The model document's format; readers refuse other versions.
pub const FORMAT_VERSION: u32 = 1;

/// Everything known about one trained model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelDoc {
    pub format_version: u32,
    pub name: String,
    pub version: u64,
    /// The version's folder name: `{version:06}-{nonce}`.
    pub id: String,
    pub algorithm: Algorithm,
    pub features: Vec<String>,
    pub transform: Transform,
    /// Centroids in raw feature units (`k` rows of `features`).
    pub centroids: Vec<Vec<f64>>,
    /// Centroids in the transformed space the model predicts in (equal to `centroids` for `none`).
    pub model_centroids: Vec<Vec<f64>>,
    /// Sum of squared distances to the nearest centroid, in model space (Spark's `trainingCost`).
    pub cost: f64,
    pub cluster_sizes: Vec<u64>,
    /// Mean silhouette, squared Euclidean, as Spark's `ClusteringEvaluator`.
    pub silhouette: Option<f64>,
    pub iterations: usize,
    pub converged: bool,
    pub rows_used: u64,
    pub rows_excluded: u64,
    pub cohort: CohortRef,
    pub lake: LakeRef,
    pub timings: Timings,
    pub created_at: String,
    pub reviewlake_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Algorithm {
    pub name: String,
    pub engine: String,
    pub init: String,
    pub k: usize,
    pub seed: u64,
    pub n_init: usize,
    pub best_init: usize,
    pub tolerance: f64,
    pub max_iter: usize,
}

/// The cohort query the model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortRef {
    pub file: String,
    pub cohort_rows: u64,
    pub sql: String,
    pub sql_sha256: String,
}

/// The lake the cohort read: a summary per Kafka partition; `lineage.json` lists every file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LakeRef {
    pub location: String,
    /// The version of the `reviews` table the cohort read (`reviewlake train --table-version`
    /// reads it again); absent in models trained before the lake was a Delta table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_version: Option<u64>,
    pub files: u64,
    pub files_sha256: String,
    pub partitions: Vec<PartitionRange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionRange {
    pub topic: String,
    pub partition: i32,
    pub files: u64,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// One lake file the cohort query could read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineageFile {
    pub path: String,
    pub topic: String,
    pub partition: i32,
    pub first_offset: i64,
    pub last_offset: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub query_seconds: f64,
    pub fit_seconds: f64,
}

/// The pointer to a model's current version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Current {
    pub version: u64,
    pub dir: String,
    pub sha256: String,
}

/// A loaded, checked model, ready to predict.
#[derive(Debug, Clone)]
pub struct Model {
    pub doc: ModelDoc,
    centroids: Array2<f64>,
}

impl Model {
    /// Checks a document and prepares it for prediction.
    pub fn from_doc(doc: ModelDoc) -> std::result::Result<Self, InvalidModel> {
        if doc.format_version != FORMAT_VERSION {
            return Err(InvalidModel::FormatVersion(doc.format_version));
        }
        let d = doc.features.len();
        let k = doc.model_centroids.len();
        if k == 0 || d == 0 {
            return Err(InvalidModel::Empty);
        }
        if doc
            .model_centroids
            .iter()
            .chain(&doc.centroids)
            .any(|c| c.len() != d)
        {
            return Err(InvalidModel::CentroidWidth(d));
        }
        if doc.model_centroids.iter().flatten().any(|v| !v.is_finite()) {
            return Err(InvalidModel::NotFinite);
        }
        if doc.cluster_sizes.len() != k || doc.centroids.len() != k {
            return Err(InvalidModel::Sizes {
                k,
                sizes: doc.cluster_sizes.len(),
            });
        }
        doc.transform.check(d)?;
        let centroids = Array2::from_shape_vec((k, d), doc.model_centroids.concat())
            .map_err(|_| InvalidModel::CentroidWidth(d))?;
        Ok(Self { doc, centroids })
    }

    /// The cluster of one raw feature vector, in the order of `doc.features`.
    pub fn predict(&self, raw: &[f64]) -> usize {
        let x: Vec<f64> = raw
            .iter()
            .enumerate()
            .map(|(j, v)| self.doc.transform.forward(j, *v))
            .collect();
        kmeans::nearest(&self.centroids, &x)
    }
}

/// Why a model document cannot serve.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidModel {
    #[error("model format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    FormatVersion(u32),
    #[error("the model has no centroids or no features")]
    Empty,
    #[error("every centroid must have {0} values, one per feature")]
    CentroidWidth(usize),
    #[error("a centroid value is not a finite number")]
    NotFinite,
    #[error("{k} centroids but {sizes} cluster sizes")]
    Sizes { k: usize, sizes: usize },
    #[error(transparent)]
    Transform(#[from] crate::features::InvalidTransform),
}

/// A complete version to write.
pub struct NewVersion<'a> {
    pub doc: &'a mut ModelDoc,
    pub lineage: &'a [LineageFile],
    pub plot_svg: String,
    pub report_md: String,
}

/// Models under `models/` of an object store.
#[derive(Debug, Clone)]
pub struct ModelStore {
    store: Arc<dyn ObjectStore>,
    location: String,
}

impl ModelStore {
    pub fn new(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        Self {
            store,
            location: location.into(),
        }
    }

    /// Where the models live, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Names of the model folders under `models/`, sorted, whether or not they have a readable
    /// current version: a server loads each on its own, so one bad pointer stops no other model.
    pub async fn folders(&self) -> Result<Vec<String>> {
        let root = Path::from("models");
        let listing = self
            .store
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| self.err(&root, e))?;
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .filter(|n| check_name(n).is_ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// Names of the models that have a current version, sorted.
    pub async fn names(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for name in self.folders().await? {
            if self.current(&name).await?.is_some() {
                out.push(name);
            }
        }
        Ok(out)
    }

    /// The pointer to `name`'s current version, if it has one.
    pub async fn current(&self, name: &str) -> Result<Option<Current>> {
        check_name(name)?;
        let key = Path::from(format!("models/{name}/CURRENT"));
        let bytes = match self.store.get(&key).await {
            Ok(r) => r.bytes().await.map_err(|e| self.err(&key, e))?,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.err(&key, e)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Artifact {
                key: key.to_string(),
                reason: format!("unreadable pointer: {e}"),
            })
    }

    /// Loads and checks `name`'s current version.
    pub async fn load(&self, name: &str) -> Result<Model> {
        let current = self.current(name).await?.ok_or_else(|| Error::NoModel {
            name: name.to_string(),
            location: self.location.clone(),
        })?;
        self.load_version(name, &current).await
    }

    /// Loads and checks the version `current` points to.
    pub async fn load_version(&self, name: &str, current: &Current) -> Result<Model> {
        check_dir(name, &current.dir)?;
        let key = Path::from(format!("{}/model.json", current.dir));
        let bytes = self.get(&key).await?;
        let artifact = |reason: String| Error::Artifact {
            key: key.to_string(),
            reason,
        };
        let sha = hex_sha256(&bytes);
        if sha != current.sha256 {
            return Err(artifact(format!(
                "SHA-256 {sha} does not match the pointer's {}",
                current.sha256
            )));
        }
        let doc: ModelDoc =
            serde_json::from_slice(&bytes).map_err(|e| artifact(format!("unreadable: {e}")))?;
        if doc.name != name || doc.version != current.version {
            return Err(artifact(format!(
                "holds {} version {}, the pointer says {name} version {}",
                doc.name, doc.version, current.version
            )));
        }
        Model::from_doc(doc).map_err(|source| Error::InvalidModel {
            key: key.to_string(),
            source,
        })
    }

    /// Every version of `name`, oldest first (folder names).
    pub async fn versions(&self, name: &str) -> Result<Vec<String>> {
        check_name(name)?;
        let root = Path::from(format!("models/{name}/versions"));
        let listing = self
            .store
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| self.err(&root, e))?;
        let mut dirs: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .filter(|d| version_of(d).is_some())
            .collect();
        dirs.sort();
        Ok(dirs)
    }

    /// The document in version folder `id` of `name` (a name [`ModelStore::versions`] lists),
    /// read as it is: for listing past versions, not for serving them.
    pub async fn version_doc(&self, name: &str, id: &str) -> Result<ModelDoc> {
        check_name(name)?;
        let dir = format!("models/{name}/versions/{id}");
        check_dir(name, &dir)?;
        let key = Path::from(format!("{dir}/model.json"));
        let bytes = self.get(&key).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Artifact {
            key: key.to_string(),
            reason: format!("unreadable: {e}"),
        })
    }

    /// The number the next version of `name` gets.
    pub async fn next_version(&self, name: &str) -> Result<u64> {
        Ok(self
            .versions(name)
            .await?
            .iter()
            .filter_map(|d| version_of(d))
            .max()
            .unwrap_or(0)
            + 1)
    }

    /// Writes a new version's files (the document's `version` set by the caller, from
    /// [`ModelStore::next_version`]), then points `CURRENT` at it. Fills in the document's id.
    pub async fn publish(&self, new: NewVersion<'_>) -> Result<Current> {
        let name = new.doc.name.clone();
        check_name(&name)?;
        let next = new.doc.version;
        let nonce: u32 = rand::random();
        let id = format!("{next:06}-{nonce:08x}");
        new.doc.id = id.clone();
        let dir = format!("models/{name}/versions/{id}");
        let lineage = serde_json::to_vec_pretty(new.lineage).map_err(json_err)?;
        let model = serde_json::to_vec_pretty(&*new.doc).map_err(json_err)?;
        let sha256 = hex_sha256(&model);
        for (file, bytes) in [
            ("lineage.json", lineage),
            ("plot.svg", new.plot_svg.into_bytes()),
            ("report.md", new.report_md.into_bytes()),
            ("model.json", model),
        ] {
            let key = Path::from(format!("{dir}/{file}"));
            self.store
                .put_opts(
                    &key,
                    PutPayload::from(Bytes::from(bytes)),
                    PutMode::Create.into(),
                )
                .await
                .map_err(|e| self.err(&key, e))?;
        }
        let current = Current {
            version: next,
            dir,
            sha256,
        };
        let key = Path::from(format!("models/{name}/CURRENT"));
        let pointer = serde_json::to_vec_pretty(&current).map_err(json_err)?;
        self.store
            .put(&key, PutPayload::from(Bytes::from(pointer)))
            .await
            .map_err(|e| self.err(&key, e))?;
        Ok(current)
    }

    /// Reads one file of a version (`plot.svg`, `report.md`, ...).
    pub async fn read(&self, name: &str, current: &Current, file: &str) -> Result<Bytes> {
        check_dir(name, &current.dir)?;
        self.get(&Path::from(format!("{}/{file}", current.dir)))
            .await
    }

    /// The bytes at `key`.
    async fn get(&self, key: &Path) -> Result<Bytes> {
        self.store
            .get(key)
            .await
            .map_err(|e| self.err(key, e))?
            .bytes()
            .await
            .map_err(|e| self.err(key, e))
    }

    /// All keys under a model, for tests and cleanup tools.
    pub async fn keys(&self, name: &str) -> Result<Vec<String>> {
        check_name(name)?;
        let root = Path::from(format!("models/{name}"));
        let metas: Vec<_> = self
            .store
            .list(Some(&root))
            .try_collect()
            .await
            .map_err(|e| self.err(&root, e))?;
        let mut keys: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        Ok(keys)
    }

    fn err(&self, key: &Path, source: object_store::Error) -> Error {
        Error::Store {
            key: format!("{}/{key}", self.location.trim_end_matches('/')),
            source,
        }
    }
}

/// A model name: 1 to 64 letters, digits, `_` or `-`. Names become folder names, so nothing else
/// is accepted.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

/// The pointer's folder must be one of this model's version folders.
fn check_dir(name: &str, dir: &str) -> Result<()> {
    let prefix = format!("models/{name}/versions/");
    match dir.strip_prefix(&prefix) {
        Some(id) if version_of(id).is_some() => Ok(()),
        _ => Err(Error::Artifact {
            key: format!("models/{name}/CURRENT"),
            reason: format!("points outside the model's versions: {dir:?}"),
        }),
    }
}

/// The version number of a folder name `{version:06}-{nonce:08x}`.
fn version_of(id: &str) -> Option<u64> {
    let (v, nonce) = id.split_once('-')?;
    (v.len() >= 6
        && nonce.len() == 8
        && v.bytes().all(|b| b.is_ascii_digit())
        && nonce.bytes().all(|b| b.is_ascii_hexdigit()))
    .then(|| v.parse().ok())
    .flatten()
}

fn json_err(source: serde_json::Error) -> Error {
    Error::Encode(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_folders_are_checked() {
        assert!(check_name("model_1").is_ok());
        for bad in ["", "../etc", "a/b", "a b", "model.1", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(version_of("000012-0a1b2c3d"), Some(12));
        assert_eq!(version_of("000012"), None);
        assert_eq!(version_of("000012-zzzzzzzz"), None);
        assert!(check_dir("m", "models/m/versions/000001-0a1b2c3d").is_ok());
        assert!(check_dir("m", "models/other/versions/000001-0a1b2c3d").is_err());
        assert!(check_dir("m", "models/m/versions/../../x").is_err());
    }
}
