//! Writing record batches as Hive-partitioned Parquet files.

use std::fs::File;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use chrono::{Datelike, NaiveDate};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::error::DemoError;

/// `import_year=2024/import_month=06/import_day=05/import_date=20240605` for `prefix` `import`.
pub fn date_partition(prefix: &str, date: NaiveDate) -> String {
    format!(
        "{prefix}_year={:04}/{prefix}_month={:02}/{prefix}_day={:02}/{prefix}_date={:04}{:02}{:02}",
        date.year(),
        date.month(),
        date.day(),
        date.year(),
        date.month(),
        date.day()
    )
}

/// Writes one Parquet file (zstd, as Spark jobs on the platform do), creating folders.
pub fn write_parquet(path: &Path, batch: &RecordBatch) -> Result<(), DemoError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(DemoError::io(parent))?;
    }
    let file = File::create(path).map_err(DemoError::io(path))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_zero_padded_strings() {
        let d = NaiveDate::from_ymd_opt(2024, 6, 5).unwrap();
        assert_eq!(
            date_partition("import", d),
            "import_year=2024/import_month=06/import_day=05/import_date=20240605"
        );
    }
}
