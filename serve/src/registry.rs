//! The models being served, swapped atomically when a new version appears.

use std::{
    collections::BTreeMap,
    sync::{Arc, RwLock},
};

use train::{Current, Model, ModelStore};

use crate::{ApiError, input};

/// One served model and the pointer it was loaded from.
#[derive(Debug)]
pub struct Loaded {
    pub model: Model,
    pub current: Current,
}

/// The loaded set: readers take an `Arc` snapshot; a reload builds a new map and swaps it in, so
/// a request in flight keeps the version it started with.
#[derive(Debug, Default)]
pub struct Registry {
    models: RwLock<Arc<BTreeMap<String, Arc<Loaded>>>>,
}

/// What one reload did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ReloadReport {
    /// `(model, version)` newly loaded.
    pub loaded: Vec<(String, u64)>,
    /// `(model, reason)` refused; the previous version (if any) keeps serving.
    pub refused: Vec<(String, String)>,
}

impl Registry {
    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<BTreeMap<String, Arc<Loaded>>> {
        self.models.read().expect("registry lock").clone()
    }

    pub fn get(&self, name: &str) -> Option<Arc<Loaded>> {
        self.models
            .read()
            .expect("registry lock")
            .get(name)
            .cloned()
    }

    /// The loaded model `name`, or the 404 that lists the loaded ones. A name from a request is
    /// looked up here before anything else: it never reaches a storage path.
    pub fn loaded(&self, name: &str) -> Result<Arc<Loaded>, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::unknown_model(name, self.names()))
    }

    pub fn names(&self) -> Vec<String> {
        self.snapshot().keys().cloned().collect()
    }

    /// Reads every model's pointer and loads the versions that changed. A model whose pointer or
    /// document cannot be read or checked is reported and keeps its previous version (if any);
    /// the others load regardless. A store that cannot be listed is reported under `*`.
    pub async fn reload(&self, store: &ModelStore) -> ReloadReport {
        let mut report = ReloadReport::default();
        let names = match store.folders().await {
            Ok(names) => names,
            Err(e) => {
                report.refused.push(("*".into(), train::error_chain(&e)));
                return report;
            }
        };
        let old = self.snapshot();
        let mut next = (*old).clone();
        for name in names {
            let current = match store.current(&name).await {
                Ok(Some(c)) => c,
                Ok(None) => continue,
                Err(e) => {
                    report.refused.push((name, train::error_chain(&e)));
                    continue;
                }
            };
            if old.get(&name).is_some_and(|l| l.current == current) {
                continue;
            }
            match store.load_version(&name, &current).await {
                Ok(model) if model.doc.features.len() != input::FEATURES => {
                    report.refused.push((
                        name,
                        format!(
                            "version {} has {} features ({}); this server predicts from {} (rating, likes, length)",
                            current.version,
                            model.doc.features.len(),
                            model.doc.features.join(", "),
                            input::FEATURES
                        ),
                    ));
                }
                Ok(model) => {
                    report.loaded.push((name.clone(), current.version));
                    next.insert(name, Arc::new(Loaded { model, current }));
                }
                Err(e) => report.refused.push((name, train::error_chain(&e))),
            }
        }
        if !report.loaded.is_empty() {
            *self.models.write().expect("registry lock") = Arc::new(next);
        }
        report
    }
}
