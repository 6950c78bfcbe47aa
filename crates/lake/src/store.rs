//! Zones as object stores.

use std::path::Path as FsPath;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

use crate::config::{S3Config, ZoneConfig};
use crate::error::LakeError;

/// A zone bucket: its name, the URL DataFusion addresses it by, and the store behind it.
#[derive(Debug, Clone)]
pub struct Zone {
    pub name: String,
    /// Always ends with `/`.
    pub url: Url,
    /// The URL of the store root (`file:///`, `s3://bucket`), as registered with DataFusion.
    pub store_url: Url,
    pub store: Arc<dyn ObjectStore>,
    /// Where the zone starts inside the store.
    pub prefix: Path,
}

impl Zone {
    /// Resolves a zone's URL (relative paths against `base_dir`) and builds its store.
    pub fn open(name: &str, config: &ZoneConfig, base_dir: &FsPath) -> Result<Zone, LakeError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(LakeError::InvalidZoneName(name.to_string()));
        }
        let url = resolve_url(name, &config.url, base_dir)?;
        match url.scheme() {
            "file" => Ok(Self::local(name, url)),
            "s3" => Self::s3(name, url, config.s3.clone().unwrap_or_default()),
            _ => Err(LakeError::UnsupportedUrl {
                zone: name.to_string(),
                url: config.url.clone(),
            }),
        }
    }

    fn local(name: &str, url: Url) -> Zone {
        let prefix = Path::from_url_path(url.path()).unwrap_or_default();
        Zone {
            name: name.to_string(),
            store_url: Url::parse("file:///").expect("static URL"),
            url,
            store: Arc::new(LocalFileSystem::new()),
            prefix,
        }
    }

    fn s3(name: &str, url: Url, s3: S3Config) -> Result<Zone, LakeError> {
        let bucket = url.host_str().unwrap_or_default().to_string();
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(&bucket);
        if let Some(endpoint) = s3.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = s3.region {
            builder = builder.with_region(region);
        }
        if let Some(key) = s3.access_key_id {
            builder = builder.with_access_key_id(key);
        }
        if let Some(secret) = s3.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        builder = builder
            .with_virtual_hosted_style_request(!s3.path_style)
            .with_allow_http(s3.allow_http);
        let store = builder.build().map_err(|source| LakeError::Store {
            zone: name.to_string(),
            source,
        })?;
        let store_url =
            Url::parse(&format!("s3://{bucket}")).map_err(|e| invalid(name, &url, e))?;
        let prefix = Path::from_url_path(url.path()).unwrap_or_default();
        Ok(Zone {
            name: name.to_string(),
            url,
            store_url,
            store: Arc::new(store),
            prefix,
        })
    }

    /// The URL of a folder below the zone root, ending with `/`.
    pub fn folder_url(&self, relative: &[String]) -> Url {
        let mut url = self.url.clone();
        let mut path = url.path().to_string();
        for segment in relative {
            path.push_str(segment);
            path.push('/');
        }
        url.set_path(&path);
        url
    }
}

fn invalid(zone: &str, url: &Url, e: impl std::fmt::Display) -> LakeError {
    LakeError::InvalidUrl {
        zone: zone.to_string(),
        url: url.to_string(),
        reason: e.to_string(),
    }
}

fn resolve_url(zone: &str, raw: &str, base_dir: &FsPath) -> Result<Url, LakeError> {
    let mut url = if raw.contains("://") {
        Url::parse(raw).map_err(|e| LakeError::InvalidUrl {
            zone: zone.to_string(),
            url: raw.to_string(),
            reason: e.to_string(),
        })?
    } else {
        let path = base_dir.join(raw);
        let path = std::path::absolute(&path).unwrap_or(path);
        Url::from_directory_path(&path).map_err(|()| LakeError::InvalidUrl {
            zone: zone.to_string(),
            url: raw.to_string(),
            reason: "not an absolute directory path".to_string(),
        })?
    };
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(url: &str) -> Result<Zone, LakeError> {
        let config = ZoneConfig {
            url: url.to_string(),
            s3: None,
        };
        Zone::open("raw", &config, FsPath::new("/etc/lakegate"))
    }

    #[test]
    fn relative_paths_resolve_against_the_config_dir() {
        let z = zone("lake/raw").unwrap();
        assert_eq!(z.url.as_str(), "file:///etc/lakegate/lake/raw/");
        assert_eq!(z.prefix.as_ref(), "etc/lakegate/lake/raw");
    }

    #[test]
    fn s3_zones_keep_bucket_and_prefix() {
        let z = zone("s3://dataplatform-prod-raw-zone/lake").unwrap();
        assert_eq!(z.store_url.as_str(), "s3://dataplatform-prod-raw-zone");
        assert_eq!(z.prefix.as_ref(), "lake");
        assert_eq!(
            z.folder_url(&["parking".into()]).as_str(),
            "s3://dataplatform-prod-raw-zone/lake/parking/"
        );
    }

    #[test]
    fn other_schemes_are_refused() {
        assert!(matches!(
            zone("ftp://x/y"),
            Err(LakeError::UnsupportedUrl { .. })
        ));
    }
}
