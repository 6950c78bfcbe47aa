//! The Flight SQL service: commands in, Arrow streams out, all through the gateway.
//!
//! Every call arrives authenticated (the layer in `auth` saw to it). A query's
//! `GetFlightInfo` plans it for its schema and hands back a sealed ticket; `DoGet` opens
//! the ticket, checks it belongs to the caller, and runs the statement again from scratch.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::sql::metadata::GetDbSchemasBuilder;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, Any, CommandGetCatalogs, CommandGetCrossReference,
    CommandGetDbSchemas, CommandGetExportedKeys, CommandGetImportedKeys, CommandGetPrimaryKeys,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandGetXdbcTypeInfo,
    CommandPreparedStatementQuery, CommandPreparedStatementUpdate, CommandStatementIngest,
    CommandStatementQuery, CommandStatementUpdate, DoPutPreparedStatementResult, ProstMessageExt,
    SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage,
    SchemaAsIpc, Ticket,
};
use chrono::Utc;
use futures::stream::{self, BoxStream};
use futures::{Stream, StreamExt, TryStreamExt};
use lakegate_gateway::arrow::array::RecordBatch;
use lakegate_gateway::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use lakegate_gateway::arrow::ipc::writer::IpcWriteOptions;
use lakegate_gateway::{
    Answer, Caller, Described, Gateway, Parameters, Protocol, QueryError,
    Request as StatementRequest, Session, Statement as GatewayStatement, number_question_marks,
};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};

use crate::auth::Authenticated;
use crate::error::{failed, query_status};
use crate::keys::{self, TableName};
use crate::metadata::{self, SQL_INFO, TABLE_TYPE, XDBC_TYPES};
use crate::params::{self, IpcParameters};
use crate::ticket::{Kind, Sealer, Statement, TicketError};

type DataStream = Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send>>;
type Batches = BoxStream<'static, Result<RecordBatch, Status>>;

/// How results are sent.
#[derive(Debug, Clone)]
pub struct FlightOptions {
    /// IPC compression; none by default, since it costs more than it saves on fast links.
    pub ipc: IpcWriteOptions,
    /// How long a ticket or prepared handle stays valid (never longer than the token).
    pub ticket_ttl: Duration,
    /// The largest gRPC message a client may send (a command, a parameter batch), and the
    /// most parameter data one `DoPut` may bind, in bytes (`[limits] max_message_bytes`).
    pub max_message_bytes: usize,
}

/// The Flight SQL service over the gateway.
pub struct LakegateFlightSql {
    gateway: Arc<Gateway>,
    sealer: Sealer,
    options: FlightOptions,
}

impl LakegateFlightSql {
    pub fn new(gateway: Arc<Gateway>, options: FlightOptions) -> LakegateFlightSql {
        LakegateFlightSql {
            gateway,
            sealer: Sealer::random(),
            options,
        }
    }

    fn seal(&self, kind: Kind, statement: &Statement, caller: &Authenticated) -> Vec<u8> {
        let ttl = chrono::Duration::from_std(self.options.ticket_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(1));
        let expires = (Utc::now() + ttl).min(caller.identity.expires_at);
        self.sealer
            .seal(kind, statement, &caller.identity.principal, expires)
    }

    /// A ticket or handle of the caller's, or `NOT_FOUND` whatever is wrong with it.
    fn open(&self, kind: Kind, bytes: &[u8], caller: &Authenticated) -> Result<Statement, Status> {
        self.sealer
            .open(kind, bytes, &caller.identity.principal)
            .map_err(|e| {
                let what = match kind {
                    Kind::Ticket => "ticket",
                    Kind::Prepared => "prepared statement",
                };
                match e {
                    TicketError::Expired => Status::not_found(format!("{what} has expired")),
                    _ => Status::not_found(format!("no such {what}")),
                }
            })
    }

    /// The one statement of a command.
    fn statement(&self, caller: &Caller, sql: &str) -> Result<GatewayStatement, Status> {
        match self.gateway.statement(caller, sql) {
            Ok(Some(statement)) => Ok(statement),
            Ok(None) => Err(query_status(
                &QueryError::Syntax("the command holds no statement".to_string()),
                None,
            )),
            Err(f) => Err(failed(&f)),
        }
    }

    /// The result schema and parameter types of `sql`, planned but not run; with `params`
    /// (a prepared statement's bound values), the schema its rows will have with them.
    async fn describe(
        &self,
        caller: &Authenticated,
        sql: &str,
        params: Option<&[u8]>,
    ) -> Result<Described, Status> {
        let caller = caller.caller();
        let statement = self.statement(&caller, sql)?;
        let params = params.map(IpcParameters);
        let request = StatementRequest {
            caller: &caller,
            sql,
            statement: &statement,
            settings: &HashMap::new(),
            params: params.as_ref().map(|p| p as &dyn Parameters),
            cancel: None,
            described: None,
        };
        self.gateway.describe(request).await.map_err(|f| failed(&f))
    }

    async fn session(&self, caller: &Authenticated) -> Result<Session, QueryError> {
        self.gateway.session(&caller.identity.principal).await
    }

    /// Runs a statement and streams its batches (the gateway ends them if the caller's
    /// token expires first).
    async fn run(
        &self,
        caller: &Authenticated,
        statement: Statement,
    ) -> Result<Response<DataStream>, Status> {
        let caller = caller.caller();
        let parsed = self.statement(&caller, &statement.sql)?;
        let params = statement.params.as_deref().map(IpcParameters);
        let request = StatementRequest {
            caller: &caller,
            sql: &statement.sql,
            statement: &parsed,
            settings: &HashMap::new(),
            params: params.as_ref().map(|p| p as &dyn Parameters),
            cancel: None,
            described: None,
        };
        let answer = self.gateway.run(request).await.map_err(|f| failed(&f))?;
        let (schema, batches): (SchemaRef, Batches) = match answer {
            Answer::Rows(rows) => {
                let id = rows.query_id().unwrap_or_default().to_string();
                let schema = rows.schema();
                (
                    schema,
                    rows.map_err(move |e| query_status(&e, Some(&id))).boxed(),
                )
            }
            // Flight SQL calls share no session: `SET` and transaction control are
            // acknowledged with no rows.
            Answer::Command(command) => {
                command.finish(Ok(0));
                let batch = RecordBatch::new_empty(Arc::new(Schema::empty()));
                (batch.schema(), stream::once(async { Ok(batch) }).boxed())
            }
            Answer::Copy { .. } | Answer::Cursor { .. } => {
                return Err(Status::internal("a Postgres-only answer over Flight SQL"));
            }
        };
        let sent = self.gateway.metrics().bytes_sent(Protocol::Flight);
        Ok(self.encode(schema, batches).map(|data| {
            let counted = data.inspect_ok(move |message| {
                sent.add(message.data_header.len() + message.data_body.len());
            });
            Box::pin(counted) as DataStream
        }))
    }

    fn flight_info(
        &self,
        caller: &Authenticated,
        statement: &Statement,
        schema: &Schema,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let handle = self.seal(Kind::Ticket, statement, caller);
        let ticket = TicketStatementQuery {
            statement_handle: handle.into(),
        };
        info(schema, descriptor, ticket.as_any().encode_to_vec())
    }

    /// Encodes batches for the wire, view types already cast by the gateway.
    fn encode(&self, schema: SchemaRef, batches: Batches) -> Response<DataStream> {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .with_options(self.options.ipc.clone())
            .build(batches.map_err(FlightError::from))
            .map_err(Status::from);
        Response::new(Box::pin(stream))
    }

    /// One batch of metadata, encoded.
    fn metadata_batch(
        &self,
        batch: Result<RecordBatch, impl std::fmt::Display>,
    ) -> Result<Response<DataStream>, Status> {
        let batch = batch.map_err(|e| Status::internal(e.to_string()))?;
        let schema = batch.schema();
        Ok(self.encode(schema, stream::once(async { Ok(batch) }).boxed()))
    }

    /// A FlightInfo for a metadata command: its ticket is the command itself.
    fn metadata_info(
        &self,
        schema: &Schema,
        command: impl ProstMessageExt,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        info(
            schema,
            request.into_inner(),
            command.as_any().encode_to_vec(),
        )
    }

    /// The session of the call's principal.
    async fn caller_session<T>(&self, request: &Request<T>) -> Result<Session, Status> {
        let caller = caller(request)?;
        self.session(&caller)
            .await
            .map_err(|e| query_status(&e, None))
    }

    async fn visible_tables(
        &self,
        caller: &Authenticated,
    ) -> Result<Vec<lakegate_gateway::VisibleTable>, Status> {
        let session = self
            .session(caller)
            .await
            .map_err(|e| query_status(&e, None))?;
        Ok(session.tables().await)
    }
}

/// The caller the auth layer verified.
fn caller<T>(request: &Request<T>) -> Result<Authenticated, Status> {
    request
        .extensions()
        .get::<Authenticated>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("a token is required"))
}

fn info(
    schema: &Schema,
    descriptor: FlightDescriptor,
    ticket: Vec<u8>,
) -> Result<Response<FlightInfo>, Status> {
    // No location: the client fetches from the channel it already has.
    let endpoint = FlightEndpoint::new().with_ticket(Ticket::new(ticket));
    let info = FlightInfo::new()
        .try_with_schema(schema)
        .map_err(|e| Status::internal(e.to_string()))?
        .with_endpoint(endpoint)
        .with_descriptor(descriptor)
        .with_total_records(-1)
        .with_total_bytes(-1)
        .with_ordered(true);
    Ok(Response::new(info))
}

fn read_only() -> Status {
    Status::permission_denied("lakegate is read-only")
}

fn schema_bytes(schema: &Schema) -> Result<bytes::Bytes, Status> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: lakegate_gateway::arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(bytes)
}

#[tonic::async_trait]
impl FlightSqlService for LakegateFlightSql {
    type FlightService = LakegateFlightSql;

    /// The layer already verified the credentials; the bearer token goes back in the
    /// `authorization` header and the payload, as clients expect.
    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let caller = caller(&request)?;
        let bearer = format!("Bearer {}", caller.token);
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: caller.token.as_bytes().to_vec().into(),
        };
        let mut response: Response<Pin<Box<dyn Stream<Item = _> + Send>>> =
            Response::new(Box::pin(stream::once(async { Ok(reply) })));
        let value = MetadataValue::try_from(bearer.as_str())
            .map_err(|_| Status::internal("token cannot be sent as a header"))?;
        response.metadata_mut().insert("authorization", value);
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let caller = caller(&request)?;
        let sql = number_question_marks(&query.query).into_owned();
        let schema = self.describe(&caller, &sql, None).await?.columns;
        let statement = Statement { sql, params: None };
        self.flight_info(&caller, &statement, &schema, request.into_inner())
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let caller = caller(&request)?;
        let statement = self.open(Kind::Prepared, &query.prepared_statement_handle, &caller)?;
        let schema = self
            .describe(&caller, &statement.sql, statement.params.as_deref())
            .await?
            .columns;
        self.flight_info(&caller, &statement, &schema, request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let caller = caller(&request)?;
        let statement = self.open(Kind::Ticket, &ticket.statement_handle, &caller)?;
        self.run(&caller, statement).await
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let caller = caller(&request)?;
        let statement = self.open(Kind::Prepared, &query.prepared_statement_handle, &caller)?;
        self.run(&caller, statement).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let caller = caller(&request)?;
        let sql = number_question_marks(&query.query).into_owned();
        let described = self.describe(&caller, &sql, None).await?;
        let schema = described.columns;
        let parameters = Schema::new(
            described
                .parameter_types
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Field::new(
                        format!("${}", i + 1),
                        t.clone().unwrap_or(DataType::Utf8),
                        true,
                    )
                })
                .collect::<Vec<_>>(),
        );
        let statement = Statement { sql, params: None };
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: self.seal(Kind::Prepared, &statement, &caller).into(),
            dataset_schema: schema_bytes(&schema)?,
            parameter_schema: schema_bytes(&parameters)?,
        })
    }

    /// Handles hold no server state, so there is nothing to free.
    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        _request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        Ok(())
    }

    /// Binds one row of parameters: the answer is a new handle carrying them.
    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let caller = caller(&request)?;
        let mut statement = self.open(Kind::Prepared, &query.prepared_statement_handle, &caller)?;
        let data = request.into_inner().map_err(FlightError::from);
        let mut decoded = arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(data);
        let (mut batches, mut bytes) = (Vec::new(), 0);
        while let Some(batch) = decoded.next().await {
            let batch = batch.map_err(|e| match e {
                // A message past the limit keeps its RESOURCE_EXHAUSTED.
                FlightError::Tonic(status) => *status,
                e => Status::invalid_argument(format!("bound parameters: {e}")),
            })?;
            bytes += batch.get_array_memory_size();
            if bytes > self.options.max_message_bytes {
                return Err(Status::resource_exhausted(format!(
                    "bound parameters of more than {} bytes",
                    self.options.max_message_bytes
                )));
            }
            batches.push(batch);
        }
        statement.params = params::encode(&batches).map_err(|e| query_status(&e, None))?;
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(self.seal(Kind::Prepared, &statement, &caller).into()),
        })
    }

    async fn do_put_statement_update(
        &self,
        _query: CommandStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only())
    }

    async fn do_put_statement_ingest(
        &self,
        _query: CommandStatementIngest,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only())
    }

    async fn do_put_prepared_statement_update(
        &self,
        _query: CommandPreparedStatementUpdate,
        _request: Request<PeekableFlightDataStream>,
    ) -> Result<i64, Status> {
        Err(read_only())
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        self.metadata_info(&schema, query, request)
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(self.gateway.database());
        self.metadata_batch(builder.build())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        self.metadata_info(&schema, query, request)
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let caller = caller(&request)?;
        let mut builder: GetDbSchemasBuilder = query.into_builder();
        let mut schemas: Vec<String> = self
            .visible_tables(&caller)
            .await?
            .into_iter()
            .map(|t| t.schema)
            .collect();
        schemas.dedup();
        for schema in schemas {
            builder.append(self.gateway.database(), schema);
        }
        self.metadata_batch(builder.build())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        self.metadata_info(&schema, query, request)
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let caller = caller(&request)?;
        let mut builder = query.into_builder();
        let database = self.gateway.database().to_string();
        // Looked up once for the call, not once per table.
        let catalogue = self.gateway.catalogue();
        for table in self.visible_tables(&caller).await? {
            let sidecar = catalogue.get(&(table.schema.clone(), table.name.clone()));
            let columns = metadata::described(&table, sidecar);
            builder
                .append(&database, &table.schema, &table.name, TABLE_TYPE, &columns)
                .map_err(|e| Status::internal(e.to_string()))?;
        }
        self.metadata_batch(builder.build())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let batch = metadata::table_types(query).map_err(|e| Status::internal(e.to_string()))?;
        self.metadata_info(&batch.schema(), query, request)
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.metadata_batch(metadata::table_types(query))
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder(&SQL_INFO).schema();
        self.metadata_info(&schema, query, request)
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.metadata_batch(query.into_builder(&SQL_INFO).build())
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder(&XDBC_TYPES).schema();
        self.metadata_info(&schema, query, request)
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        self.metadata_batch(query.into_builder(&XDBC_TYPES).build())
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(&metadata::primary_keys_schema(), query, request)
    }

    async fn do_get_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let session = self.caller_session(&request).await?;
        let name = TableName {
            schema: query.db_schema.as_deref(),
            table: &query.table,
        };
        self.metadata_batch(keys::primary_keys(&session, name).await)
    }

    async fn get_flight_info_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(&metadata::foreign_keys_schema(), query, request)
    }

    async fn do_get_exported_keys(
        &self,
        query: CommandGetExportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let session = self.caller_session(&request).await?;
        let pk = TableName {
            schema: query.db_schema.as_deref(),
            table: &query.table,
        };
        self.metadata_batch(keys::foreign_keys(&session, Some(pk), None).await)
    }

    async fn get_flight_info_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(&metadata::foreign_keys_schema(), query, request)
    }

    async fn do_get_imported_keys(
        &self,
        query: CommandGetImportedKeys,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let session = self.caller_session(&request).await?;
        let fk = TableName {
            schema: query.db_schema.as_deref(),
            table: &query.table,
        };
        self.metadata_batch(keys::foreign_keys(&session, None, Some(fk)).await)
    }

    async fn get_flight_info_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.metadata_info(&metadata::foreign_keys_schema(), query, request)
    }

    async fn do_get_cross_reference(
        &self,
        query: CommandGetCrossReference,
        request: Request<Ticket>,
    ) -> Result<Response<DataStream>, Status> {
        let session = self.caller_session(&request).await?;
        let pk = TableName {
            schema: query.pk_db_schema.as_deref(),
            table: &query.pk_table,
        };
        let fk = TableName {
            schema: query.fk_db_schema.as_deref(),
            table: &query.fk_table,
        };
        self.metadata_batch(keys::foreign_keys(&session, Some(pk), Some(fk)).await)
    }

    async fn do_get_fallback(
        &self,
        _request: Request<Ticket>,
        _message: Any,
    ) -> Result<Response<DataStream>, Status> {
        Err(Status::not_found("no such ticket"))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
