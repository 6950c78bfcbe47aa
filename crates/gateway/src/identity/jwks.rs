//! Verification keys from a JWKS file, found by `kid`.

use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};

/// Re-reading the file for an unknown `kid` happens at most this often, so a flood of
/// forged key ids cannot turn into a flood of file reads.
const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// The JWKS, re-read (rate-limited) when a token names a key it does not hold, so keys can
/// be rotated without a restart.
pub struct KeySet {
    path: PathBuf,
    state: RwLock<(JwkSet, Instant)>,
}

impl KeySet {
    /// Loads the JWKS; a missing or malformed file is an error at start-up.
    pub fn load(path: &Path) -> Result<KeySet, String> {
        let set = read(path)?;
        Ok(KeySet {
            path: path.to_path_buf(),
            state: RwLock::new((set, Instant::now())),
        })
    }

    /// The key with this id, re-reading the file if it is unknown and was not read lately.
    pub fn find(&self, kid: &str) -> Option<Jwk> {
        {
            let state = self.state.read().unwrap_or_else(|e| e.into_inner());
            if let Some(key) = state.0.find(kid) {
                return Some(key.clone());
            }
            if state.1.elapsed() < RELOAD_INTERVAL {
                return None;
            }
        }
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        if state.1.elapsed() >= RELOAD_INTERVAL {
            state.1 = Instant::now();
            match read(&self.path) {
                Ok(set) => state.0 = set,
                Err(e) => tracing::warn!(error = %e, "keeping the previous JWKS"),
            }
        }
        state.0.find(kid).cloned()
    }
}

fn read(path: &Path) -> Result<JwkSet, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading JWKS {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("parsing JWKS {}: {e}", path.display()))
}
