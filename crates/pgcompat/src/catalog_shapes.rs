//! The catalogue's relations in PostgreSQL 15's shape: every relation of `pg_catalog` and
//! `information_schema` that lakegate serves has PostgreSQL 15's columns, in its order,
//! described with its types. What lakegate computes is mapped onto that shape: a column it
//! has is kept (renamed where DataFusion or datafusion-pg-catalog named it otherwise), a
//! column it lacks is NULL (or PostgreSQL's constant for a read-only database, such as
//! `is_insertable_into = 'NO'`), and a column PostgreSQL 15 does not have (a later
//! version's, or DataFusion's own) is left out. Values held in a wider Arrow type than
//! PostgreSQL's — `name`, `"char"`, `varchar` and `pg_node_tree` as text; `oid`, `xid`,
//! `cid` as `integer` — are described with PostgreSQL's type: the bytes on the wire are the
//! same, and drivers look at the type (pgjdbc maps `name` to `VARCHAR`).
//!
//! [`SHAPES`] is PostgreSQL 15's own catalogue (`pg_attribute`, domains as their base
//! types); `tests/python/test_catalogue.py` compares every relation with a PostgreSQL 15 and
//! fails on any difference not listed there with its reason.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use arrow_pg::datatypes::{PG_CHAR_KEY, PG_OID_ALIAS_KEY};
use async_trait::async_trait;
use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{Session, TableProvider};
use datafusion::error::Result;
use datafusion::physical_plan::collect;

use crate::computed::{Computed, Rows};

/// The Arrow field metadata key naming a column's PostgreSQL type (`name`, `varchar`,
/// `pg_node_tree`, `xid`, `cid`: the ones arrow-pg has no marker of its own for), which the
/// pg front end describes the column with.
pub const PG_TYPE: &str = "lakegate.pg_type";

/// PostgreSQL 15's columns of each relation, `name:type` in order.
const SHAPES: &[(&str, &str, &str)] = &[
    (
        "information_schema",
        "columns",
        "table_catalog:name table_schema:name table_name:name column_name:name ordinal_position:int4 column_default:varchar is_nullable:varchar data_type:varchar character_maximum_length:int4 character_octet_length:int4 numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4 datetime_precision:int4 interval_type:varchar interval_precision:int4 character_set_catalog:name character_set_schema:name character_set_name:name collation_catalog:name collation_schema:name collation_name:name domain_catalog:name domain_schema:name domain_name:name udt_catalog:name udt_schema:name udt_name:name scope_catalog:name scope_schema:name scope_name:name maximum_cardinality:int4 dtd_identifier:name is_self_referencing:varchar is_identity:varchar identity_generation:varchar identity_start:varchar identity_increment:varchar identity_maximum:varchar identity_minimum:varchar identity_cycle:varchar is_generated:varchar generation_expression:varchar is_updatable:varchar",
    ),
    (
        "information_schema",
        "parameters",
        "specific_catalog:name specific_schema:name specific_name:name ordinal_position:int4 parameter_mode:varchar is_result:varchar as_locator:varchar parameter_name:name data_type:varchar character_maximum_length:int4 character_octet_length:int4 character_set_catalog:name character_set_schema:name character_set_name:name collation_catalog:name collation_schema:name collation_name:name numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4 datetime_precision:int4 interval_type:varchar interval_precision:int4 udt_catalog:name udt_schema:name udt_name:name scope_catalog:name scope_schema:name scope_name:name maximum_cardinality:int4 dtd_identifier:name parameter_default:varchar",
    ),
    (
        "information_schema",
        "routines",
        "specific_catalog:name specific_schema:name specific_name:name routine_catalog:name routine_schema:name routine_name:name routine_type:varchar module_catalog:name module_schema:name module_name:name udt_catalog:name udt_schema:name udt_name:name data_type:varchar character_maximum_length:int4 character_octet_length:int4 character_set_catalog:name character_set_schema:name character_set_name:name collation_catalog:name collation_schema:name collation_name:name numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4 datetime_precision:int4 interval_type:varchar interval_precision:int4 type_udt_catalog:name type_udt_schema:name type_udt_name:name scope_catalog:name scope_schema:name scope_name:name maximum_cardinality:int4 dtd_identifier:name routine_body:varchar routine_definition:varchar external_name:varchar external_language:varchar parameter_style:varchar is_deterministic:varchar sql_data_access:varchar is_null_call:varchar sql_path:varchar schema_level_routine:varchar max_dynamic_result_sets:int4 is_user_defined_cast:varchar is_implicitly_invocable:varchar security_type:varchar to_sql_specific_catalog:name to_sql_specific_schema:name to_sql_specific_name:name as_locator:varchar created:timestamptz last_altered:timestamptz new_savepoint_level:varchar is_udt_dependent:varchar result_cast_from_data_type:varchar result_cast_as_locator:varchar result_cast_char_max_length:int4 result_cast_char_octet_length:int4 result_cast_char_set_catalog:name result_cast_char_set_schema:name result_cast_char_set_name:name result_cast_collation_catalog:name result_cast_collation_schema:name result_cast_collation_name:name result_cast_numeric_precision:int4 result_cast_numeric_precision_radix:int4 result_cast_numeric_scale:int4 result_cast_datetime_precision:int4 result_cast_interval_type:varchar result_cast_interval_precision:int4 result_cast_type_udt_catalog:name result_cast_type_udt_schema:name result_cast_type_udt_name:name result_cast_scope_catalog:name result_cast_scope_schema:name result_cast_scope_name:name result_cast_maximum_cardinality:int4 result_cast_dtd_identifier:name",
    ),
    (
        "information_schema",
        "schemata",
        "catalog_name:name schema_name:name schema_owner:name default_character_set_catalog:name default_character_set_schema:name default_character_set_name:name sql_path:varchar",
    ),
    (
        "information_schema",
        "tables",
        "table_catalog:name table_schema:name table_name:name table_type:varchar self_referencing_column_name:name reference_generation:varchar user_defined_type_catalog:name user_defined_type_schema:name user_defined_type_name:name is_insertable_into:varchar is_typed:varchar commit_action:varchar",
    ),
    (
        "information_schema",
        "views",
        "table_catalog:name table_schema:name table_name:name view_definition:varchar check_option:varchar is_updatable:varchar is_insertable_into:varchar is_trigger_updatable:varchar is_trigger_deletable:varchar is_trigger_insertable_into:varchar",
    ),
    (
        "pg_catalog",
        "pg_aggregate",
        "aggfnoid:regproc aggkind:char aggnumdirectargs:int2 aggtransfn:regproc aggfinalfn:regproc aggcombinefn:regproc aggserialfn:regproc aggdeserialfn:regproc aggmtransfn:regproc aggminvtransfn:regproc aggmfinalfn:regproc aggfinalextra:bool aggmfinalextra:bool aggfinalmodify:char aggmfinalmodify:char aggsortop:oid aggtranstype:oid aggtransspace:int4 aggmtranstype:oid aggmtransspace:int4 agginitval:text aggminitval:text",
    ),
    (
        "pg_catalog",
        "pg_am",
        "oid:oid amname:name amhandler:regproc amtype:char",
    ),
    (
        "pg_catalog",
        "pg_amop",
        "oid:oid amopfamily:oid amoplefttype:oid amoprighttype:oid amopstrategy:int2 amoppurpose:char amopopr:oid amopmethod:oid amopsortfamily:oid",
    ),
    (
        "pg_catalog",
        "pg_amproc",
        "oid:oid amprocfamily:oid amproclefttype:oid amprocrighttype:oid amprocnum:int2 amproc:regproc",
    ),
    (
        "pg_catalog",
        "pg_attrdef",
        "oid:oid adrelid:oid adnum:int2 adbin:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_attribute",
        "attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 attnum:int2 attndims:int4 attcacheoff:int4 atttypmod:int4 attbyval:bool attalign:char attstorage:char attcompression:char attnotnull:bool atthasdef:bool atthasmissing:bool attidentity:char attgenerated:char attisdropped:bool attislocal:bool attinhcount:int4 attcollation:oid attacl:_aclitem attoptions:_text attfdwoptions:_text attmissingval:anyarray",
    ),
    (
        "pg_catalog",
        "pg_auth_members",
        "roleid:oid member:oid grantor:oid admin_option:bool",
    ),
    (
        "pg_catalog",
        "pg_authid",
        "oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool rolreplication:bool rolbypassrls:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz",
    ),
    (
        "pg_catalog",
        "pg_cast",
        "oid:oid castsource:oid casttarget:oid castfunc:oid castcontext:char castmethod:char",
    ),
    (
        "pg_catalog",
        "pg_class",
        "oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid relam:oid relfilenode:oid reltablespace:oid relpages:int4 reltuples:float4 relallvisible:int4 reltoastrelid:oid relhasindex:bool relisshared:bool relpersistence:char relkind:char relnatts:int2 relchecks:int2 relhasrules:bool relhastriggers:bool relhassubclass:bool relrowsecurity:bool relforcerowsecurity:bool relispopulated:bool relreplident:char relispartition:bool relrewrite:oid relfrozenxid:xid relminmxid:xid relacl:_aclitem reloptions:_text relpartbound:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_collation",
        "oid:oid collname:name collnamespace:oid collowner:oid collprovider:char collisdeterministic:bool collencoding:int4 collcollate:text collctype:text colliculocale:text collversion:text",
    ),
    (
        "pg_catalog",
        "pg_constraint",
        "oid:oid conname:name connamespace:oid contype:char condeferrable:bool condeferred:bool convalidated:bool conrelid:oid contypid:oid conindid:oid conparentid:oid confrelid:oid confupdtype:char confdeltype:char confmatchtype:char conislocal:bool coninhcount:int4 connoinherit:bool conkey:_int2 confkey:_int2 conpfeqop:_oid conppeqop:_oid conffeqop:_oid confdelsetcols:_int2 conexclop:_oid conbin:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_conversion",
        "oid:oid conname:name connamespace:oid conowner:oid conforencoding:int4 contoencoding:int4 conproc:regproc condefault:bool",
    ),
    (
        "pg_catalog",
        "pg_cursors",
        "name:text statement:text is_holdable:bool is_binary:bool is_scrollable:bool creation_time:timestamptz",
    ),
    (
        "pg_catalog",
        "pg_database",
        "oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char datistemplate:bool datallowconn:bool datconnlimit:int4 datfrozenxid:xid datminmxid:xid dattablespace:oid datcollate:text datctype:text daticulocale:text datcollversion:text datacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_db_role_setting",
        "setdatabase:oid setrole:oid setconfig:_text",
    ),
    (
        "pg_catalog",
        "pg_default_acl",
        "oid:oid defaclrole:oid defaclnamespace:oid defaclobjtype:char defaclacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_depend",
        "classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid refobjsubid:int4 deptype:char",
    ),
    (
        "pg_catalog",
        "pg_description",
        "objoid:oid classoid:oid objsubid:int4 description:text",
    ),
    (
        "pg_catalog",
        "pg_enum",
        "oid:oid enumtypid:oid enumsortorder:float4 enumlabel:name",
    ),
    (
        "pg_catalog",
        "pg_event_trigger",
        "oid:oid evtname:name evtevent:name evtowner:oid evtfoid:oid evtenabled:char evttags:_text",
    ),
    (
        "pg_catalog",
        "pg_extension",
        "oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool extversion:text extconfig:_oid extcondition:_text",
    ),
    (
        "pg_catalog",
        "pg_foreign_data_wrapper",
        "oid:oid fdwname:name fdwowner:oid fdwhandler:oid fdwvalidator:oid fdwacl:_aclitem fdwoptions:_text",
    ),
    (
        "pg_catalog",
        "pg_foreign_server",
        "oid:oid srvname:name srvowner:oid srvfdw:oid srvtype:text srvversion:text srvacl:_aclitem srvoptions:_text",
    ),
    (
        "pg_catalog",
        "pg_foreign_table",
        "ftrelid:oid ftserver:oid ftoptions:_text",
    ),
    (
        "pg_catalog",
        "pg_index",
        "indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool indnullsnotdistinct:bool indisprimary:bool indisexclusion:bool indimmediate:bool indisclustered:bool indisvalid:bool indcheckxmin:bool indisready:bool indislive:bool indisreplident:bool indkey:int2vector indcollation:oidvector indclass:oidvector indoption:int2vector indexprs:pg_node_tree indpred:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_inherits",
        "inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool",
    ),
    (
        "pg_catalog",
        "pg_init_privs",
        "objoid:oid classoid:oid objsubid:int4 privtype:char initprivs:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_language",
        "oid:oid lanname:name lanowner:oid lanispl:bool lanpltrusted:bool lanplcallfoid:oid laninline:oid lanvalidator:oid lanacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_largeobject",
        "loid:oid pageno:int4 data:bytea",
    ),
    (
        "pg_catalog",
        "pg_largeobject_metadata",
        "oid:oid lomowner:oid lomacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_matviews",
        "schemaname:name matviewname:name matviewowner:name tablespace:name hasindexes:bool ispopulated:bool definition:text",
    ),
    (
        "pg_catalog",
        "pg_namespace",
        "oid:oid nspname:name nspowner:oid nspacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_opclass",
        "oid:oid opcmethod:oid opcname:name opcnamespace:oid opcowner:oid opcfamily:oid opcintype:oid opcdefault:bool opckeytype:oid",
    ),
    (
        "pg_catalog",
        "pg_operator",
        "oid:oid oprname:name oprnamespace:oid oprowner:oid oprkind:char oprcanmerge:bool oprcanhash:bool oprleft:oid oprright:oid oprresult:oid oprcom:oid oprnegate:oid oprcode:regproc oprrest:regproc oprjoin:regproc",
    ),
    (
        "pg_catalog",
        "pg_opfamily",
        "oid:oid opfmethod:oid opfname:name opfnamespace:oid opfowner:oid",
    ),
    (
        "pg_catalog",
        "pg_partitioned_table",
        "partrelid:oid partstrat:char partnatts:int2 partdefid:oid partattrs:int2vector partclass:oidvector partcollation:oidvector partexprs:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_policy",
        "oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool polroles:_oid polqual:pg_node_tree polwithcheck:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_proc",
        "oid:oid proname:name pronamespace:oid proowner:oid prolang:oid procost:float4 prorows:float4 provariadic:oid prosupport:regproc prokind:char prosecdef:bool proleakproof:bool proisstrict:bool proretset:bool provolatile:char proparallel:char pronargs:int2 pronargdefaults:int2 prorettype:oid proargtypes:oidvector proallargtypes:_oid proargmodes:_char proargnames:_text proargdefaults:pg_node_tree protrftypes:_oid prosrc:text probin:text prosqlbody:pg_node_tree proconfig:_text proacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_publication",
        "oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool pubupdate:bool pubdelete:bool pubtruncate:bool pubviaroot:bool",
    ),
    (
        "pg_catalog",
        "pg_publication_namespace",
        "oid:oid pnpubid:oid pnnspid:oid",
    ),
    (
        "pg_catalog",
        "pg_publication_rel",
        "oid:oid prpubid:oid prrelid:oid prqual:pg_node_tree prattrs:int2vector",
    ),
    (
        "pg_catalog",
        "pg_range",
        "rngtypid:oid rngsubtype:oid rngmultitypid:oid rngcollation:oid rngsubopc:oid rngcanonical:regproc rngsubdiff:regproc",
    ),
    (
        "pg_catalog",
        "pg_replication_origin",
        "roident:oid roname:text",
    ),
    (
        "pg_catalog",
        "pg_replication_slots",
        "slot_name:name plugin:name slot_type:text datoid:oid database:name temporary:bool active:bool active_pid:int4 xmin:xid catalog_xmin:xid restart_lsn:pg_lsn confirmed_flush_lsn:pg_lsn wal_status:text safe_wal_size:int8 two_phase:bool",
    ),
    (
        "pg_catalog",
        "pg_rewrite",
        "oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char is_instead:bool ev_qual:pg_node_tree ev_action:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_roles",
        "rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool rolcreatedb:bool rolcanlogin:bool rolreplication:bool rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz rolbypassrls:bool rolconfig:_text oid:oid",
    ),
    (
        "pg_catalog",
        "pg_seclabel",
        "objoid:oid classoid:oid objsubid:int4 provider:text label:text",
    ),
    (
        "pg_catalog",
        "pg_sequence",
        "seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 seqmin:int8 seqcache:int8 seqcycle:bool",
    ),
    (
        "pg_catalog",
        "pg_settings",
        "name:text setting:text unit:text category:text short_desc:text extra_desc:text context:text vartype:text source:text min_val:text max_val:text enumvals:_text boot_val:text reset_val:text sourcefile:text sourceline:int4 pending_restart:bool",
    ),
    (
        "pg_catalog",
        "pg_shdepend",
        "dbid:oid classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid deptype:char",
    ),
    (
        "pg_catalog",
        "pg_shdescription",
        "objoid:oid classoid:oid description:text",
    ),
    (
        "pg_catalog",
        "pg_shseclabel",
        "objoid:oid classoid:oid provider:text label:text",
    ),
    (
        "pg_catalog",
        "pg_stat_activity",
        "datid:oid datname:name pid:int4 leader_pid:int4 usesysid:oid usename:name application_name:text client_addr:inet client_hostname:text client_port:int4 backend_start:timestamptz xact_start:timestamptz query_start:timestamptz state_change:timestamptz wait_event_type:text wait_event:text state:text backend_xid:xid backend_xmin:xid query_id:int8 query:text backend_type:text",
    ),
    (
        "pg_catalog",
        "pg_stat_gssapi",
        "pid:int4 gss_authenticated:bool principal:text encrypted:bool",
    ),
    (
        "pg_catalog",
        "pg_stat_user_tables",
        "relid:oid schemaname:name relname:name seq_scan:int8 seq_tup_read:int8 idx_scan:int8 idx_tup_fetch:int8 n_tup_ins:int8 n_tup_upd:int8 n_tup_del:int8 n_tup_hot_upd:int8 n_live_tup:int8 n_dead_tup:int8 n_mod_since_analyze:int8 n_ins_since_vacuum:int8 last_vacuum:timestamptz last_autovacuum:timestamptz last_analyze:timestamptz last_autoanalyze:timestamptz vacuum_count:int8 autovacuum_count:int8 analyze_count:int8 autoanalyze_count:int8",
    ),
    (
        "pg_catalog",
        "pg_statistic",
        "starelid:oid staattnum:int2 stainherit:bool stanullfrac:float4 stawidth:int4 stadistinct:float4 stakind1:int2 stakind2:int2 stakind3:int2 stakind4:int2 stakind5:int2 staop1:oid staop2:oid staop3:oid staop4:oid staop5:oid stacoll1:oid stacoll2:oid stacoll3:oid stacoll4:oid stacoll5:oid stanumbers1:_float4 stanumbers2:_float4 stanumbers3:_float4 stanumbers4:_float4 stanumbers5:_float4 stavalues1:anyarray stavalues2:anyarray stavalues3:anyarray stavalues4:anyarray stavalues5:anyarray",
    ),
    (
        "pg_catalog",
        "pg_statistic_ext",
        "oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid stxstattarget:int4 stxkeys:int2vector stxkind:_char stxexprs:pg_node_tree",
    ),
    (
        "pg_catalog",
        "pg_statistic_ext_data",
        "stxoid:oid stxdinherit:bool stxdndistinct:pg_ndistinct stxddependencies:pg_dependencies stxdmcv:pg_mcv_list stxdexpr:_pg_statistic",
    ),
    (
        "pg_catalog",
        "pg_subscription",
        "oid:oid subdbid:oid subskiplsn:pg_lsn subname:name subowner:oid subenabled:bool subbinary:bool substream:bool subtwophasestate:char subdisableonerr:bool subconninfo:text subslotname:name subsynccommit:text subpublications:_text",
    ),
    (
        "pg_catalog",
        "pg_subscription_rel",
        "srsubid:oid srrelid:oid srsubstate:char srsublsn:pg_lsn",
    ),
    (
        "pg_catalog",
        "pg_tables",
        "schemaname:name tablename:name tableowner:name tablespace:name hasindexes:bool hasrules:bool hastriggers:bool rowsecurity:bool",
    ),
    (
        "pg_catalog",
        "pg_tablespace",
        "oid:oid spcname:name spcowner:oid spcacl:_aclitem spcoptions:_text",
    ),
    (
        "pg_catalog",
        "pg_trigger",
        "oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 tgenabled:char tgisinternal:bool tgconstrrelid:oid tgconstrindid:oid tgconstraint:oid tgdeferrable:bool tginitdeferred:bool tgnargs:int2 tgattr:int2vector tgargs:bytea tgqual:pg_node_tree tgoldtable:name tgnewtable:name",
    ),
    (
        "pg_catalog",
        "pg_ts_config",
        "oid:oid cfgname:name cfgnamespace:oid cfgowner:oid cfgparser:oid",
    ),
    (
        "pg_catalog",
        "pg_ts_dict",
        "oid:oid dictname:name dictnamespace:oid dictowner:oid dicttemplate:oid dictinitoption:text",
    ),
    (
        "pg_catalog",
        "pg_ts_parser",
        "oid:oid prsname:name prsnamespace:oid prsstart:regproc prstoken:regproc prsend:regproc prsheadline:regproc prslextype:regproc",
    ),
    (
        "pg_catalog",
        "pg_ts_template",
        "oid:oid tmplname:name tmplnamespace:oid tmplinit:regproc tmpllexize:regproc",
    ),
    (
        "pg_catalog",
        "pg_type",
        "oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool typtype:char typcategory:char typispreferred:bool typisdefined:bool typdelim:char typrelid:oid typsubscript:regproc typelem:oid typarray:oid typinput:regproc typoutput:regproc typreceive:regproc typsend:regproc typmodin:regproc typmodout:regproc typanalyze:regproc typalign:char typstorage:char typnotnull:bool typbasetype:oid typtypmod:int4 typndims:int4 typcollation:oid typdefaultbin:pg_node_tree typdefault:text typacl:_aclitem",
    ),
    (
        "pg_catalog",
        "pg_user_mapping",
        "oid:oid umuser:oid umserver:oid umoptions:_text",
    ),
    (
        "pg_catalog",
        "pg_views",
        "schemaname:name viewname:name viewowner:name definition:text",
    ),
];

/// Columns lakegate's sources name otherwise: (relation, PostgreSQL's name, source's name).
const RENAMED: &[(&str, &str, &str)] = &[
    ("pg_tables", "hasindexes", "hasindex"),
    // The value a setting has at start (datafusion-pg-catalog's `bool_val` is never filled).
    ("pg_settings", "boot_val", "reset_val"),
    ("pg_collation", "colliculocale", "colllocale"),
    ("views", "view_definition", "definition"),
];

/// What PostgreSQL answers for a column lakegate has no source for, where it is the same
/// for every row of a read-only database with no identity, generated or typed columns.
const CONSTANTS: &[(&str, &str, &str)] = &[
    ("tables", "is_insertable_into", "NO"),
    ("tables", "is_typed", "NO"),
    ("columns", "is_self_referencing", "NO"),
    ("columns", "is_identity", "NO"),
    ("columns", "is_generated", "NEVER"),
    ("columns", "is_updatable", "NO"),
    ("views", "check_option", "NONE"),
    ("views", "is_updatable", "NO"),
    ("views", "is_insertable_into", "NO"),
    ("views", "is_trigger_updatable", "NO"),
    ("views", "is_trigger_deletable", "NO"),
    ("views", "is_trigger_insertable_into", "NO"),
];

type Shapes = HashMap<(&'static str, &'static str), Vec<(&'static str, &'static str)>>;

fn shapes() -> &'static Shapes {
    static SHAPED: OnceLock<Shapes> = OnceLock::new();
    SHAPED.get_or_init(|| {
        (SHAPES.iter())
            .map(|(schema, table, columns)| {
                let columns = (columns.split(' '))
                    .filter_map(|c| c.split_once(':'))
                    .collect();
                ((*schema, *table), columns)
            })
            .collect()
    })
}

/// `provider` in PostgreSQL 15's shape, if [`SHAPES`] has the relation.
pub fn shaped(
    schema: &str,
    table: &str,
    provider: Arc<dyn TableProvider>,
) -> Arc<dyn TableProvider> {
    let Some(columns) = shapes().get(&(schema, table)) else {
        return provider;
    };
    let base = provider.schema();
    let mut fields = Vec::with_capacity(columns.len());
    let mut sources = Vec::with_capacity(columns.len());
    for (name, pg_type) in columns {
        let source_name = RENAMED
            .iter()
            .find(|(t, n, _)| *t == table && n == name)
            .map_or(*name, |(_, _, source)| *source);
        let (field, source) = match base.index_of(source_name) {
            Ok(i) => {
                let field = base.field(i).clone().with_name(*name);
                let wanted = arrow_type(pg_type);
                match (field.data_type(), *pg_type) {
                    // information_schema's `yes_or_no`.
                    (DataType::Boolean, "varchar") => {
                        (field.with_data_type(DataType::Utf8), Source::YesOrNo(i))
                    }
                    // Only a wider number or another timestamp: text is never parsed.
                    (have, _)
                        if *have != wanted
                            && ((have.is_numeric() && wanted.is_numeric())
                                || (matches!(have, DataType::Timestamp(..))
                                    && matches!(wanted, DataType::Timestamp(..)))) =>
                    {
                        (field.with_data_type(wanted), Source::Cast(i))
                    }
                    _ => (field, Source::Column(i)),
                }
            }
            Err(_) => {
                let constant = CONSTANTS
                    .iter()
                    .find(|(t, n, _)| *t == table && n == name)
                    .map(|(_, _, value)| *value);
                let data_type = match constant {
                    Some(_) => DataType::Utf8,
                    None => arrow_type(pg_type),
                };
                let field = Field::new(*name, data_type, true);
                (field, constant.map_or(Source::Null, Source::Constant))
            }
        };
        // Nullable as PostgreSQL's views are (and sources' nullability is not theirs).
        fields.push(described(field.with_nullable(true), pg_type));
        sources.push(source);
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, base.metadata().clone()));
    Arc::new(Computed(Shaped {
        provider,
        schema,
        sources,
    }))
}

/// Where a column of the shaped relation comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Column(usize),
    /// Cast to the field's type (`float8` held for `float4`, `timestamp` for `timestamptz`).
    Cast(usize),
    /// A boolean written `YES` / `NO`.
    YesOrNo(usize),
    Constant(&'static str),
    Null,
}

/// The Arrow type a column lakegate has no source for is NULL in.
fn arrow_type(pg_type: &str) -> DataType {
    match pg_type {
        "bool" => DataType::Boolean,
        "int2" => DataType::Int16,
        "int4" | "oid" | "xid" | "cid" | "regproc" => DataType::Int32,
        "int8" => DataType::Int64,
        "float4" => DataType::Float32,
        "float8" => DataType::Float64,
        "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => DataType::Utf8,
    }
}

/// `field` described with PostgreSQL's type where its values are that type's on the wire.
/// `"char"` and `oid` with arrow-pg's own markers (which its encoder knows), the other types
/// with [`PG_TYPE`].
fn described(field: Field, pg_type: &str) -> Field {
    let (key, value) = match (field.data_type(), pg_type) {
        (DataType::Utf8, "char") => (PG_CHAR_KEY, "char"),
        (DataType::Int32, "oid") => (PG_OID_ALIAS_KEY, "oid"),
        (DataType::Utf8, "name" | "varchar" | "pg_node_tree")
        | (DataType::Int32, "xid" | "cid") => (PG_TYPE, pg_type),
        _ => return field,
    };
    let mut metadata = field.metadata().clone();
    metadata.insert(key.to_string(), value.to_string());
    field.with_metadata(metadata)
}

/// A catalogue relation in PostgreSQL 15's shape.
#[derive(Debug)]
struct Shaped {
    provider: Arc<dyn TableProvider>,
    schema: SchemaRef,
    sources: Vec<Source>,
}

#[async_trait]
impl Rows for Shaped {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    async fn rows(&self, state: &dyn Session) -> Result<Vec<RecordBatch>> {
        let plan = self.provider.scan(state, None, &[], None).await?;
        let batches = collect(plan, state.task_ctx()).await?;
        batches.iter().map(|batch| self.shape(batch)).collect()
    }
}

impl Shaped {
    fn shape(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let rows = batch.num_rows();
        let columns = (self.sources.iter().zip(self.schema.fields()))
            .map(|(source, field)| -> Result<ArrayRef> {
                Ok(match source {
                    Source::Column(i) => Arc::clone(batch.column(*i)),
                    Source::Cast(i) => cast(batch.column(*i), field.data_type())?,
                    Source::YesOrNo(i) => {
                        let flags = batch.column(*i).as_boolean();
                        let words = flags
                            .iter()
                            .map(|f| f.map(|f| if f { "YES" } else { "NO" }));
                        Arc::new(words.collect::<StringArray>())
                    }
                    Source::Constant(value) => Arc::new(StringArray::from(vec![*value; rows])),
                    Source::Null => new_null_array(field.data_type(), rows),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int32Array;
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;

    #[tokio::test]
    async fn a_relation_takes_postgresqls_columns_order_and_types() {
        let base = Arc::new(Schema::new(vec![
            Field::new("tablename", DataType::Utf8, true),
            Field::new("hasindex", DataType::Boolean, true),
            Field::new("schemaname", DataType::Utf8, true),
            Field::new("extra", DataType::Int32, true),
        ]));
        let batch = RecordBatch::try_new(
            Arc::clone(&base),
            vec![
                Arc::new(StringArray::from(vec!["t"])),
                Arc::new(datafusion::arrow::array::BooleanArray::from(vec![true])),
                Arc::new(StringArray::from(vec!["s"])),
                Arc::new(Int32Array::from(vec![7])),
            ],
        )
        .unwrap();
        let table = Arc::new(MemTable::try_new(base, vec![vec![batch]]).unwrap());
        let shaped = shaped("pg_catalog", "pg_tables", table);
        let schema = shaped.schema();
        let names: Vec<&str> = (schema.fields().iter())
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(
            names,
            [
                "schemaname",
                "tablename",
                "tableowner",
                "tablespace",
                "hasindexes",
                "hasrules",
                "hastriggers",
                "rowsecurity"
            ]
        );
        assert_eq!(
            shaped
                .schema()
                .field(0)
                .metadata()
                .get(PG_TYPE)
                .map(String::as_str),
            Some("name")
        );
        let ctx = SessionContext::new();
        let plan = shaped.scan(&ctx.state(), None, &[], None).await.unwrap();
        let rows = collect(plan, ctx.task_ctx()).await.unwrap();
        assert_eq!(rows[0].column(0).as_string::<i32>().value(0), "s");
        assert!(rows[0].column(4).as_boolean().value(0));
        assert!(rows[0].column(5).is_null(0));
    }
}
