//! Hive partition folders (`import_date=20240605`).

/// Partition keys whose greatest value is "the latest import", in order of preference.
pub const DATE_KEYS: [&str; 2] = ["import_date", "snapshot_date"];

/// One `key=value` path segment. Values stay strings, exactly as written in the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSegment {
    pub key: String,
    pub value: String,
}

impl PartitionSegment {
    /// Parses `key=value`; anything else (including an empty key) is not a partition.
    pub fn parse(segment: &str) -> Option<Self> {
        let (key, value) = segment.split_once('=')?;
        let valid_key = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        valid_key.then(|| PartitionSegment {
            key: key.to_string(),
            value: value.to_string(),
        })
    }
}

/// One partition of a dataset: the files sharing the same values of its partition keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// `key=value/…` over the dataset's partition keys.
    pub path: String,
    /// The value of the date key (`import_date`), when the dataset has one.
    pub date: Option<String>,
    pub files: usize,
    pub bytes: u64,
}

/// A dataset's partitions, in path order, from its files' partition segments and sizes.
pub fn partitions<'a>(
    keys: &[String],
    files: impl IntoIterator<Item = (&'a [PartitionSegment], u64)>,
) -> Vec<Partition> {
    let date = date_key(keys);
    let mut found: std::collections::BTreeMap<String, Partition> = Default::default();
    for (segments, size) in files {
        let path = segments
            .iter()
            .take(keys.len())
            .map(|s| format!("{}={}", s.key, s.value))
            .collect::<Vec<_>>()
            .join("/");
        let entry = found.entry(path.clone()).or_insert_with(|| Partition {
            path,
            date: segments
                .iter()
                .find(|s| Some(s.key.as_str()) == date)
                .map(|s| s.value.clone()),
            files: 0,
            bytes: 0,
        });
        entry.files += 1;
        entry.bytes += size;
    }
    found.into_values().collect()
}

/// The partition keys that every one of a dataset's files carries, in path order: the
/// longest common prefix of the files' key sequences.
pub fn common_keys<'a>(files: impl IntoIterator<Item = &'a [PartitionSegment]>) -> Vec<String> {
    let mut keys: Option<Vec<String>> = None;
    for segments in files {
        let these = segments.iter().map(|s| s.key.clone());
        keys = Some(match keys {
            None => these.collect(),
            Some(prev) => prev
                .into_iter()
                .zip(these)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    keys.unwrap_or_default()
}

/// The key among `keys` that names an import or snapshot date, if any.
pub fn date_key(keys: &[String]) -> Option<&str> {
    DATE_KEYS
        .iter()
        .find(|k| keys.iter().any(|key| key == *k))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(path: &str) -> Vec<PartitionSegment> {
        path.split('/')
            .filter_map(PartitionSegment::parse)
            .collect()
    }

    #[test]
    fn parses_hive_segments_as_strings() {
        let s = PartitionSegment::parse("import_month=06").unwrap();
        assert_eq!(s.key, "import_month");
        assert_eq!(s.value, "06");
        assert!(PartitionSegment::parse("liberator").is_none());
        assert!(PartitionSegment::parse("=x").is_none());
        assert_eq!(PartitionSegment::parse("k=").unwrap().value, "");
    }

    #[test]
    fn common_keys_take_the_shared_prefix() {
        let a = segs("import_year=2024/import_month=06/import_date=20240605");
        let b = segs("import_year=2024/import_month=06/import_date=20240606/source=x");
        assert_eq!(
            common_keys([a.as_slice(), b.as_slice()]),
            vec!["import_year", "import_month", "import_date"]
        );
        let c = segs("snapshot_year=2024/snapshot_date=20240601");
        assert_eq!(
            common_keys([a.as_slice(), c.as_slice()]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn date_key_prefers_import_date() {
        let keys = vec!["import_year".to_string(), "import_date".to_string()];
        assert_eq!(date_key(&keys), Some("import_date"));
        let keys = vec!["snapshot_date".to_string()];
        assert_eq!(date_key(&keys), Some("snapshot_date"));
        assert_eq!(date_key(&["import_year".to_string()]), None);
    }
}
