//! `lakegate check`: is the config sound, and what does each zone hold?

use std::sync::Arc;

use lakegate_lake::{Lake, TableKind};

use crate::cli::ConfigArg;
use crate::config::Loaded;
use crate::server::engine;

pub async fn run(args: ConfigArg) -> Result<(), String> {
    let loaded = Loaded::load(&args.config).map_err(|e| e.to_string())?;
    lakegate_gateway::TokenVerifier::new(
        loaded.config.identity.clone(),
        &loaded.resolve(&loaded.config.identity.jwks_file),
    )?;
    let lake = Arc::new(Lake::open(&loaded.config.lake, &loaded.dir).map_err(|e| e.to_string())?);
    let engine = engine(&loaded, &lake)?;
    let snapshot = lake.refresh().await;
    println!("config {}: ok", loaded.path.display());
    let mut problems = 0;
    for zone in lake.zones() {
        let tables: Vec<_> = snapshot
            .tables
            .iter()
            .filter(|t| t.zone == zone.name)
            .collect();
        println!("zone {} ({}): {} tables", zone.name, zone.url, tables.len());
        for table in tables {
            let kind = match &table.kind {
                TableKind::Dataset => format!("{} files", table.file_count),
                TableKind::Latest { key, value } => format!("view: {key} = {value}"),
            };
            println!("  {} ({kind})", table.qualified_name());
            if table.kind != TableKind::Dataset {
                continue;
            }
            for drift in &table.merged.widened {
                println!(
                    "    drift: column `{}` widened across files: {:?}",
                    drift.column, drift.types
                );
            }
            for conflict in &table.merged.conflicts {
                println!(
                    "    drift: column `{}` has types {:?} across files; served as text",
                    conflict.column, conflict.types
                );
            }
            for file in &table.unreadable_files {
                problems += 1;
                println!("    unreadable file: {file}");
            }
            if let Some(e) = &table.sidecar_error {
                problems += 1;
                println!("    _catalog.toml ignored: {e}");
            }
            for (rule, e) in engine.type_check(table, &loaded.policy) {
                problems += 1;
                println!("    policy: `{rule}` does not type-check: {e}");
            }
        }
    }
    for e in &snapshot.zone_errors {
        problems += 1;
        println!("error: {e}");
    }
    if problems > 0 {
        return Err(format!("{problems} problem(s) found"));
    }
    Ok(())
}
