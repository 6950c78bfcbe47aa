//! `lakegate tables`: schemas and tables, optionally as one principal sees them.

use std::sync::Arc;

use lakegate_gateway::TokenVerifier;
use lakegate_lake::{Lake, TableKind};

use crate::cli::TablesArgs;
use crate::config::Loaded;

pub async fn run(args: TablesArgs) -> Result<(), String> {
    let loaded = Loaded::load(&args.config.config).map_err(|e| e.to_string())?;
    let principal = match &args.token {
        Some(token) => {
            let verifier = TokenVerifier::new(
                loaded.config.identity.clone(),
                &loaded.resolve(&loaded.config.identity.jwks_file),
            )?;
            Some(verifier.verify(token).map_err(|e| e.to_string())?.principal)
        }
        None => None,
    };
    let lake = Arc::new(Lake::open(&loaded.config.lake, &loaded.dir).map_err(|e| e.to_string())?);
    let snapshot = lake.refresh().await;
    let mut schema = String::new();
    for table in &snapshot.tables {
        if let Some(p) = &principal
            && loaded
                .policy
                .table_rules(p, &table.zone, &table.department, &table.qualified_name())
                .is_none()
        {
            continue;
        }
        if table.schema != schema {
            schema = table.schema.clone();
            println!("{schema}");
        }
        let sidecar = table.sidecar.as_ref();
        let description = sidecar.and_then(|s| s.description.as_deref()).unwrap_or("");
        println!("  {:<40} {description}", table.name);
        if let Some(owner) = sidecar.and_then(|s| s.owner.as_deref()) {
            println!("  {:<40} owner: {owner}", "");
        }
        let columns = sidecar
            .filter(|_| table.kind == TableKind::Dataset)
            .map(|s| s.columns.iter());
        for (column, doc) in columns.into_iter().flatten() {
            let pii = if doc.pii.is_empty() {
                String::new()
            } else {
                format!(" [PII: {}]", doc.pii.join(", "))
            };
            println!(
                "      {column}: {}{pii}",
                doc.description.as_deref().unwrap_or("")
            );
        }
    }
    Ok(())
}
