//! Parquet footers, read once per file version and cached.
//!
//! The footer is fetched and bounds-checked here rather than by the parquet crate's
//! readers: parquet 59 trusts the metadata length stored in the file, and a corrupt file
//! can make it slice out of range and panic. A file that fails these checks is reported as
//! unreadable instead.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use moka::future::Cache;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::metadata::ParquetMetaDataReader;

/// Bytes read from the end of a file in the first request; most footers fit.
const TAIL_BYTES: u64 = 64 * 1024;

/// Why a file's footer could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FooterError {
    #[error("not a Parquet file: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] object_store::Error),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
}

/// Caches each file's Arrow schema by location, size and modification time, so a re-listing
/// reads only the footers of new or rewritten files.
#[derive(Clone)]
pub struct FooterCache {
    schemas: Cache<(String, u64, i64), SchemaRef>,
}

impl FooterCache {
    pub fn new(entries: u64) -> Self {
        FooterCache {
            schemas: Cache::new(entries),
        }
    }

    /// The file's schema with view, large and dictionary types reduced to their plain form.
    pub async fn schema(
        &self,
        store: &Arc<dyn ObjectStore>,
        meta: &ObjectMeta,
    ) -> Result<SchemaRef, FooterError> {
        let key = (
            meta.location.to_string(),
            meta.size,
            meta.last_modified.timestamp_millis(),
        );
        if let Some(schema) = self.schemas.get(&key).await {
            return Ok(schema);
        }
        let schema = plain_schema(&read_schema(store.as_ref(), meta).await?);
        self.schemas.insert(key, Arc::clone(&schema)).await;
        Ok(schema)
    }
}

/// Reads and checks the footer (`metadata, u32 length, "PAR1"`), then decodes the schema.
async fn read_schema(store: &dyn ObjectStore, meta: &ObjectMeta) -> Result<Schema, FooterError> {
    let size = meta.size;
    if size < 12 {
        return Err(FooterError::Corrupt(format!("{size} bytes is too small")));
    }
    let tail_start = size.saturating_sub(TAIL_BYTES);
    let tail = store.get_range(&meta.location, tail_start..size).await?;
    let end = tail.len();
    if end < 8 || &tail[end - 4..] != b"PAR1" {
        return Err(FooterError::Corrupt("no PAR1 magic at the end".to_string()));
    }
    let mut length = [0u8; 4];
    length.copy_from_slice(&tail[end - 8..end - 4]);
    let metadata_len = u64::from(u32::from_le_bytes(length));
    if metadata_len + 12 > size {
        return Err(FooterError::Corrupt(format!(
            "footer length {metadata_len} exceeds the file"
        )));
    }
    let metadata_start = size - 8 - metadata_len;
    let bytes = if metadata_start >= tail_start {
        let from = (metadata_start - tail_start) as usize;
        tail.slice(from..end - 8)
    } else {
        store
            .get_range(&meta.location, metadata_start..size - 8)
            .await?
    };
    let metadata = ParquetMetaDataReader::decode_metadata(&bytes)?;
    let file = metadata.file_metadata();
    Ok(parquet_to_arrow_schema(
        file.schema_descr(),
        file.key_value_metadata(),
    )?)
}

fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| Field::new(f.name(), plain_type(f.data_type()), true))
        .collect();
    Arc::new(Schema::new(fields))
}

fn plain_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Dictionary(_, value) => plain_type(value),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::{ObjectStoreExt, PutPayload};

    use super::*;

    async fn schema_of(bytes: &'static [u8]) -> Result<SchemaRef, FooterError> {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("x.parquet");
        store.put(&path, PutPayload::from_static(bytes)).await?;
        let meta = store.head(&path).await?;
        FooterCache::new(10).schema(&store, &meta).await
    }

    #[tokio::test]
    async fn corrupt_footers_are_errors_not_panics() {
        for bytes in [
            &b""[..],
            &b"PAR1"[..],
            &b"PAR1 this is not really parquet PAR1"[..],
            &b"PAR1\x00\x00\x00\x00\xff\xff\xff\x7fPAR1"[..],
            &b"PAR1\x01\x02\x03\x04\x05\x06\x07\x08\x04\x00\x00\x00PAR1"[..],
        ] {
            assert!(schema_of(bytes).await.is_err(), "{bytes:?}");
        }
    }
}
