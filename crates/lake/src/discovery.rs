//! From a zone's object listing to datasets.
//!
//! A dataset is the deepest folder whose children are partition folders or Parquet files:
//! every path is read as `department/folder…/key=value…/file.parquet`.

use std::collections::BTreeMap;

use object_store::ObjectMeta;
use object_store::path::Path;

use crate::partition::{PartitionSegment, common_keys};

/// Name of the optional catalogue sidecar in a dataset folder.
pub const SIDECAR: &str = "_catalog.toml";

/// One Parquet file of a dataset, with its partition values.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub meta: ObjectMeta,
    pub partitions: Vec<PartitionSegment>,
}

/// The files found for one dataset folder.
#[derive(Debug, Clone, Default)]
pub struct DatasetFolder {
    /// The department folder as written in the lake.
    pub department: String,
    /// Folders between the department and the partitions (at least one).
    pub folders: Vec<String>,
    pub files: Vec<DataFile>,
    pub sidecar: Option<Path>,
}

impl DatasetFolder {
    /// Partition keys shared by all files, in path order.
    pub fn partition_keys(&self) -> Vec<String> {
        common_keys(self.files.iter().map(|f| f.partitions.as_slice()))
    }
}

/// Groups a zone's objects into dataset folders, keyed by their path below the zone.
pub fn datasets(prefix: &Path, objects: Vec<ObjectMeta>) -> Vec<DatasetFolder> {
    let mut found: BTreeMap<Vec<String>, DatasetFolder> = BTreeMap::new();
    let mut sidecars = Vec::new();
    for meta in objects {
        let Some(parts) = relative_parts(prefix, &meta.location) else {
            continue;
        };
        let Some((file, dirs)) = parts.split_last() else {
            continue;
        };
        if dirs.iter().any(|d| d.starts_with('.')) {
            continue;
        }
        if file == SIDECAR {
            sidecars.push((dirs.to_vec(), meta.location.clone()));
            continue;
        }
        if file.starts_with(['.', '_']) || !file.ends_with(".parquet") {
            continue;
        }
        let Some((folder, partitions)) = split_dataset(dirs) else {
            continue;
        };
        let entry = found
            .entry(folder.clone())
            .or_insert_with(|| DatasetFolder {
                department: folder[0].clone(),
                folders: folder[1..].to_vec(),
                ..Default::default()
            });
        entry.files.push(DataFile { meta, partitions });
    }
    for (dirs, location) in sidecars {
        if let Some(folder) = found.get_mut(&dirs) {
            folder.sidecar = Some(location);
        }
    }
    let mut folders: Vec<DatasetFolder> = found.into_values().collect();
    for folder in &mut folders {
        folder
            .files
            .sort_by(|a, b| a.meta.location.cmp(&b.meta.location));
    }
    folders
}

fn relative_parts(prefix: &Path, location: &Path) -> Option<Vec<String>> {
    let parts = location.prefix_match(prefix)?;
    Some(parts.map(|p| p.as_ref().to_string()).collect())
}

/// Splits a file's folders into the dataset folder and its partition segments. A file is
/// part of no dataset when a plain folder follows a partition folder, or when it sits
/// directly in a department folder.
fn split_dataset(dirs: &[String]) -> Option<(Vec<String>, Vec<PartitionSegment>)> {
    let first_partition = dirs
        .iter()
        .position(|d| PartitionSegment::parse(d).is_some())
        .unwrap_or(dirs.len());
    let (folder, rest) = dirs.split_at(first_partition);
    if folder.len() < 2 {
        return None;
    }
    let partitions: Option<Vec<PartitionSegment>> =
        rest.iter().map(|d| PartitionSegment::parse(d)).collect();
    Some((folder.to_vec(), partitions?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(path: &str) -> ObjectMeta {
        ObjectMeta {
            location: Path::from(path),
            last_modified: Default::default(),
            size: 10,
            e_tag: None,
            version: None,
        }
    }

    #[test]
    fn datasets_at_any_depth_with_partitions() {
        let prefix = Path::from("lake/raw");
        let objects = vec![
            meta(
                "lake/raw/parking/liberator/liberator_pcn_tickets/import_year=2024/import_month=06/import_day=05/import_date=20240605/part-0.parquet",
            ),
            meta(
                "lake/raw/parking/liberator/liberator_pcn_tickets/import_year=2024/import_month=06/import_day=06/import_date=20240606/part-0.parquet",
            ),
            meta("lake/raw/parking/liberator/liberator_pcn_tickets/_catalog.toml"),
            meta("lake/raw/parking/permits/part-0.parquet"),
            meta("lake/raw/parking/loose.parquet"),
            meta("lake/raw/parking/permits/_SUCCESS"),
            meta("lake/raw/parking/odd/import_year=2024/sub/part.parquet"),
        ];
        let found = datasets(&prefix, objects);
        assert_eq!(found.len(), 2);
        let tickets = &found[0];
        assert_eq!(tickets.department, "parking");
        assert_eq!(tickets.folders, vec!["liberator", "liberator_pcn_tickets"]);
        assert_eq!(tickets.files.len(), 2);
        assert!(tickets.sidecar.is_some());
        assert_eq!(
            tickets.partition_keys(),
            vec!["import_year", "import_month", "import_day", "import_date"]
        );
        let permits = &found[1];
        assert_eq!(permits.folders, vec!["permits"]);
        assert!(permits.partition_keys().is_empty());
    }
}
