//! The one entry point: a session's catalogue and functions installed as PostgreSQL has them.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::CatalogProvider;
use datafusion::catalog::information_schema::INFORMATION_SCHEMA;
use datafusion::error::{DataFusionError, Result};
use datafusion::optimizer::AnalyzerRule;
use datafusion::optimizer::analyzer::resolve_grouping_function::ResolveGroupingFunction;
use datafusion::optimizer::analyzer::type_coercion::TypeCoercion;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_pg_catalog::setup_pg_catalog;
use lakegate_lake::Sidecar;

use crate::activity::{Activity, StatActivity};
use crate::bounds::bounded_udfs;
use crate::casts::{PostgresCasts, PostgresIntegers};
use crate::catalog::LakeCatalog;
use crate::comments::{Comments, TableComments};
use crate::dictionary::{self, Visible, dictionary};
use crate::division::division_udf;
use crate::driver_functions::{
    PartitionAncestors, function_description_udfs, is_visible_udfs, json_build_object_udf,
    like_escape_udf, pg_expandarray_udf, pg_get_serial_sequence_udf, pg_get_triggerdef_udf,
    pg_size_pretty_udf, pg_subscripts_udf, privilege_udfs, session_user_udf, to_regtype_udf,
};
use crate::extract::extract_udfs;
use crate::formatting::formatting_udfs;
use crate::information::InformationSchema;
use crate::keys::Keys;
use crate::roles::PrincipalRole;
use crate::version::version_udf;
use crate::zone::SessionZone;

/// Who a session is for, as the catalogue shows it.
pub struct SessionFacts {
    /// `current_database()`, the catalog's name.
    pub database: String,
    /// The role name (`current_user`, `pg_roles`).
    pub username: String,
    /// The token subject whose connections `pg_stat_activity` lists.
    pub subject: String,
    /// The server's connections and cursors, of which the session shows the subject's own.
    pub activity: Arc<dyn Activity>,
}

/// Settings of a session that PostgreSQL's SQL needs: a literal with a decimal point is
/// `numeric`, never a float (`0.1 + 0.2 = 0.3` holds, and BI tools' inlined filter values
/// compare exactly); `information_schema` is ours, installed by [`install`], not
/// DataFusion's.
pub fn configure(config: SessionConfig) -> SessionConfig {
    let mut config = config.with_information_schema(false);
    config.options_mut().sql_parser.parse_float_as_decimal = true;
    config
}

/// The analyzer rules a session runs, in order: PostgreSQL's literal types before
/// DataFusion's own rules (grouping functions, type coercion); PostgreSQL's casts after
/// them, when every cast is in place.
pub fn analyzer_rules() -> Vec<Arc<dyn AnalyzerRule + Send + Sync>> {
    vec![
        Arc::new(PostgresIntegers),
        Arc::new(ResolveGroupingFunction::new()),
        Arc::new(TypeCoercion::new()),
        Arc::new(PostgresCasts),
    ]
}

/// Installs in `ctx` (whose default catalog is `catalog` and already holds the principal's
/// tables, `visible`) the `lakegate` dictionary, `information_schema`, `pg_catalog` and
/// PostgreSQL's functions.
///
/// # Errors
/// A schema or function that could not be registered (a bug, not a client's doing).
pub fn install(
    ctx: &SessionContext,
    catalog: &Arc<dyn CatalogProvider>,
    facts: &SessionFacts,
    visible: &[Visible<'_>],
) -> Result<()> {
    let keys = Arc::new(Keys::new(visible));
    catalog.register_schema(dictionary::SCHEMA, dictionary(visible, &keys)?)?;
    let catalogs = Arc::clone(ctx.state().catalog_list());
    let information = InformationSchema::new(catalogs, Arc::clone(&keys), &facts.database);
    catalog.register_schema(INFORMATION_SCHEMA, Arc::new(information))?;
    let role = PrincipalRole {
        username: facts.username.clone(),
    };
    setup_pg_catalog(ctx, &facts.database, role)
        .map_err(|e| DataFusionError::Plan(format!("installing pg_catalog: {e}")))?;
    if let Some(pg_catalog) = catalog.schema("pg_catalog") {
        catalog.register_schema(
            "pg_catalog",
            Arc::new(LakeCatalog::new(
                pg_catalog,
                comments(visible),
                Arc::clone(&keys),
                StatActivity {
                    activity: Arc::clone(&facts.activity),
                    subject: facts.subject.clone(),
                    database: facts.database.clone(),
                },
            )),
        )?;
    }
    let udfs = keys
        .udfs()
        .into_iter()
        .chain([version_udf()])
        .chain(crate::sql_functions::udfs())
        .chain(formatting_udfs(&SessionZone::default()))
        .chain(bounded_udfs())
        .chain(extract_udfs())
        .chain([
            division_udf(),
            to_regtype_udf(),
            like_escape_udf(),
            json_build_object_udf(),
            pg_get_serial_sequence_udf(),
            pg_size_pretty_udf(),
            pg_expandarray_udf(),
            crate::pg_settings::current_setting_udf(),
            crate::pg_settings::set_config_udf(),
            session_user_udf(&facts.username),
            pg_get_triggerdef_udf(),
            pg_subscripts_udf(),
            // Lake tables have no heap or index files; sized as pg_relation_size sizes them.
            datafusion_pg_catalog::pg_catalog::create_pg_relation_size_udf()
                .with_aliases(["pg_table_size", "pg_indexes_size"]),
        ])
        .chain(is_visible_udfs())
        .chain(function_description_udfs())
        .chain(privilege_udfs());
    for udf in udfs {
        ctx.register_udf(udf);
    }
    ctx.register_udtf("pg_partition_ancestors", Arc::new(PartitionAncestors));
    Ok(())
}

/// The tables' and columns' comments from their catalogue entries, for the columns the
/// principal sees.
fn comments(visible: &[Visible<'_>]) -> Comments {
    visible
        .iter()
        .filter_map(|v| {
            let sidecar = v.table.sidecar.as_ref()?;
            Some((
                (v.table.schema.clone(), v.table.name.clone()),
                table_comments(sidecar, &v.columns),
            ))
        })
        .collect()
}

fn table_comments(sidecar: &Sidecar, visible: &Schema) -> TableComments {
    let columns = visible
        .fields()
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let text = sidecar.columns.get(f.name())?.description.clone()?;
            Some((i32::try_from(i + 1).ok()?, text))
        })
        .collect();
    TableComments {
        table: sidecar.description.clone(),
        columns,
    }
}
