//! `lakegate token`: a development token signed with the configured dev key.

use std::collections::BTreeMap;
use std::time::Duration;

use lakegate_gateway::identity::{DevSigner, TokenRequest};

use crate::cli::TokenArgs;
use crate::config::Loaded;

pub fn run(args: TokenArgs) -> Result<(), String> {
    let loaded = Loaded::load(&args.config.config).map_err(|e| e.to_string())?;
    let signer = signer(&loaded)?;
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for attr in &args.attrs {
        let (name, value) = attr
            .split_once('=')
            .ok_or_else(|| format!("--attr {attr}: expected name=value"))?;
        attributes
            .entry(name.to_string())
            .or_default()
            .push(value.to_string());
    }
    let token = signer.mint(&TokenRequest {
        subject: args.sub,
        departments: args.departments,
        groups: args.groups,
        attributes,
        ttl: parse_ttl(&args.ttl)?,
    })?;
    println!("{token}");
    Ok(())
}

/// The dev signer the config names.
pub fn signer(loaded: &Loaded) -> Result<DevSigner, String> {
    let identity = &loaded.config.identity;
    let key = identity
        .dev_signing_key
        .as_ref()
        .ok_or("identity.dev_signing_key is not configured: this server has no development key")?;
    DevSigner::from_config(identity, &loaded.resolve(key))
}

/// `45s`, `30m`, `1h`, `2d`, or plain seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("--ttl {text}: expected e.g. 30m, 1h, 2d"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("--ttl {text}: unknown unit `{unit}`")),
    };
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_parse() {
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_ttl("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("h").is_err());
    }
}
