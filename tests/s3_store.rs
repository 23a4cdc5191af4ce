//! The S3 server under test refuses a second create-only PUT of a key, as S3 and MinIO do.
//! Delta commits on S3 rely on it (`If-None-Match: *`): on a store that silently overwrote, two
//! writers could both commit the same table version and every other test of commits would pass
//! without testing anything. This test fails on such a store (garage 2.5, for one).

mod common;

use common::*;
use lake::Lake;
use object_store::{ObjectStoreExt, PutMode, PutOptions, path::Path};

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_server_refuses_a_second_create_only_put_with_412() {
    if !have(Needs::S3) {
        return;
    }
    let lake = Lake::open(&format!("{}/{}", s3_root(), unique("412"))).unwrap();
    let key = Path::from("_delta_log/00000000000000000001.json");
    let create = || PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    lake.store()
        .put_opts(&key, "first".into(), create())
        .await
        .expect("the first create-only put succeeds");
    let second = lake.store().put_opts(&key, "second".into(), create()).await;
    assert!(
        matches!(second, Err(object_store::Error::AlreadyExists { .. })),
        "the second create-only put must be refused (412 Precondition Failed), got {second:?}"
    );
    let body = lake.store().get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"first", "the first body stays");
}
