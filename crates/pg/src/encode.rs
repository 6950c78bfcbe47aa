//! Arrow batches to pg rows, batch by batch.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_pg::datatypes::{arrow_schema_to_pg_fields, encode_recordbatch};
use arrow_pg::encoder::encode_value;
use bytes::Bytes;
use futures::{Stream, StreamExt, stream};
use lakegate_gateway::arrow::datatypes::Schema;
use lakegate_gateway::arrow::record_batch::RecordBatch;
use lakegate_gateway::metrics::BytesSent;
use lakegate_gateway::{CopyFormat, CopyOut, QueryError, QueryStream, Running};
use pgwire::api::portal::Format;
use pgwire::api::results::FieldFormat;
use pgwire::api::results::{
    CopyCsvOptions, CopyEncoder, CopyResponse, CopyTextOptions, FieldInfo, QueryResponse,
};
use pgwire::error::PgWireResult;
use pgwire::messages::Message;
use pgwire::messages::copy::CopyData;
use pgwire::types::format::FormatOptions;

use crate::columnar::TextOptions;
use crate::error::query_error_with_id;
use crate::{columnar, wire};

/// A query response whose rows are encoded one record batch at a time as the client reads
/// them; nothing is collected. (A cancel ends the rows with `57014`: the stream watches it.)
pub fn query_response(
    results: QueryStream,
    format: &Format,
    options: Arc<FormatOptions>,
    running: Option<Running>,
) -> PgWireResult<QueryResponse> {
    let text = TextOptions::of(&options);
    let fields = Arc::new(wire::fields(
        &results.schema(),
        results.origins(),
        format,
        Some(options),
    )?);
    let row_fields = Arc::clone(&fields);
    let id = results.query_id().unwrap_or_default().to_string();
    let sent = results.bytes_sent();
    // The statement runs until its rows are sent (or the client goes): the stream holds
    // the connection's `active` state until it is dropped.
    let rows = results.flat_map(move |batch| {
        let _running = &running;
        encode_or_fail(&row_fields, batch, &id, &text).inspect(counted(sent.clone()))
    });
    Ok(QueryResponse::new(fields, rows))
}

/// Adds each message's size on the wire (type byte included) to `sent`.
fn counted<M: Message>(sent: Option<BytesSent>) -> impl FnMut(&PgWireResult<M>) {
    move |message| {
        if let (Some(sent), Ok(message)) = (&sent, message) {
            sent.add(1 + message.message_length());
        }
    }
}

fn encode_or_fail(
    row_fields: &Arc<Vec<FieldInfo>>,
    batch: Result<RecordBatch, QueryError>,
    id: &str,
    text: &TextOptions,
) -> impl Stream<Item = PgWireResult<pgwire::messages::data::DataRow>> + use<> {
    match batch {
        Ok(batch) => stream::iter(encode_batch(Arc::clone(row_fields), batch, text)).left_stream(),
        Err(e) => {
            let error = query_error_with_id(&e, id);
            stream::once(async move { Err(error) }).right_stream()
        }
    }
}

/// Rows already in hand (a cursor's `FETCH`), as a query response tagged `FETCH n`.
pub fn rows_response(
    schema: &Schema,
    batches: Vec<RecordBatch>,
    format: &Format,
    options: Arc<FormatOptions>,
) -> PgWireResult<QueryResponse> {
    let text = TextOptions::of(&options);
    let fields = Arc::new(wire::fields(schema, &[], format, Some(options))?);
    let row_fields = Arc::clone(&fields);
    let rows = stream::iter(batches)
        .flat_map(move |batch| stream::iter(encode_batch(Arc::clone(&row_fields), batch, &text)));
    let mut response = QueryResponse::new(fields, rows);
    response.set_command_tag("FETCH");
    Ok(response)
}

/// A batch's data rows, `int2vector` columns as PostgreSQL writes them.
fn encode_batch(
    fields: Arc<Vec<FieldInfo>>,
    batch: RecordBatch,
    text: &TextOptions,
) -> Vec<PgWireResult<pgwire::messages::data::DataRow>> {
    let batch = match wire::batch(batch) {
        Ok(batch) => batch,
        Err(e) => return vec![Err(pgwire::error::PgWireError::ApiError(Box::new(e)))],
    };
    let binary: Vec<bool> = fields
        .iter()
        .map(|f| f.format() == FieldFormat::Binary)
        .collect();
    if let Some(rows) = columnar::data_rows(&batch, &binary, text) {
        return rows.into_iter().map(Ok).collect();
    }
    encode_recordbatch(fields, batch).collect()
}

/// `COPY … TO STDOUT` data: one copy row per result row, encoded batch by batch, with a
/// header line when asked for.
pub fn copy_response(
    results: QueryStream,
    copy: &CopyOut,
    text: TextOptions,
) -> PgWireResult<CopyResponse> {
    let schema = wire::schema(&results.schema());
    let binary = copy.format == CopyFormat::Binary;
    let format = if binary {
        Format::UnifiedBinary
    } else {
        Format::UnifiedText
    };
    let fields = Arc::new(arrow_schema_to_pg_fields(&schema, &format, None)?);
    let columns = fields.len();
    let header = copy.header.then(|| header_line(&schema, copy));
    let mut encoder = copy_encoder(Arc::clone(&fields), copy);
    let id = results.query_id().unwrap_or_default().to_string();
    let rows_sent = Arc::new(AtomicBool::new(false));
    let sent = Arc::clone(&rows_sent);
    let plain_text = copy.format == CopyFormat::Text
        && copy.delimiter.is_none_or(|d| d == '\t')
        && copy.null.as_deref().is_none_or(|n| n == "\\N");
    let bytes = results.bytes_sent();
    let data = results.map(move |batch| {
        let batch = batch.map_err(|e| query_error_with_id(&e, &id))?;
        let batch =
            wire::batch(batch).map_err(|e| pgwire::error::PgWireError::ApiError(Box::new(e)))?;
        if let Some(lines) = plain_text
            .then(|| columnar::copy_lines(&batch, &text))
            .flatten()
        {
            sent.store(true, Ordering::Relaxed);
            return Ok(lines.into_iter().map(|l| Ok(CopyData::new(l))).collect());
        }
        let mut out = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            for (column, pg_field) in fields.iter().enumerate() {
                let field = batch.schema_ref().field(column).clone();
                encode_value(&mut encoder, batch.column(column), row, &field, pg_field)?;
            }
            out.push(Ok(encoder.take_copy()));
            sent.store(true, Ordering::Relaxed);
        }
        Ok::<_, pgwire::error::PgWireError>(out)
    });
    // Binary copies end with a trailer; the encoder writes the header with the first row,
    // so with no rows the header goes with the trailer.
    let binary_end = stream::once(async move {
        let end: &'static [u8] = if rows_sent.load(Ordering::Relaxed) {
            BINARY_TRAILER
        } else {
            BINARY_EMPTY
        };
        binary.then(|| Ok(CopyData::new(Bytes::from_static(end))))
    })
    .filter_map(futures::future::ready);
    let data = stream::iter(header.map(|h| Ok(CopyData::new(Bytes::from(h)))))
        .chain(data.flat_map(|rows| match rows {
            Ok(rows) => stream::iter(rows).left_stream(),
            Err(e) => stream::once(async move { Err(e) }).right_stream(),
        }))
        .chain(binary_end)
        .inspect(counted(bytes));
    // `CopyResponse::new` would add a trailer of its own after ours: replace its stream.
    let mut response = CopyResponse::new(i8::from(binary), columns, stream::empty());
    *response.data_stream() = Box::pin(data);
    Ok(response)
}

/// The end of a binary copy: a tuple count of -1.
const BINARY_TRAILER: &[u8] = b"\xff\xff";
/// A binary copy of no rows: the PGCOPY signature, flags and extension length, then the
/// trailer.
const BINARY_EMPTY: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0\xff\xff";

fn copy_encoder(fields: Arc<Vec<FieldInfo>>, copy: &CopyOut) -> CopyEncoder {
    match copy.format {
        CopyFormat::Binary => CopyEncoder::new_binary(fields),
        CopyFormat::Text => {
            let mut options = CopyTextOptions::default();
            if let Some(d) = copy.delimiter {
                options.delimiter = d.to_string().into();
            }
            if let Some(n) = &copy.null {
                options.null_string = n.as_str().into();
            }
            CopyEncoder::new_text(fields, options)
        }
        CopyFormat::Csv => {
            let mut options = CopyCsvOptions::default();
            if let Some(d) = copy.delimiter {
                options.delimiter = d.to_string().into();
            }
            if let Some(n) = &copy.null {
                options.null_string = n.as_str().into();
            }
            if let Some(q) = copy.quote {
                options.quote = q.to_string().into();
                options.escape = q.to_string().into();
            }
            if let Some(e) = copy.escape {
                options.escape = e.to_string().into();
            }
            CopyEncoder::new_csv(fields, options)
        }
    }
}

/// The column names as the first line (text or CSV).
fn header_line(schema: &Schema, copy: &CopyOut) -> String {
    let csv = copy.format == CopyFormat::Csv;
    let delimiter = copy.delimiter.unwrap_or(if csv { ',' } else { '\t' });
    let quote = copy.quote.unwrap_or('"');
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| {
            let name = f.name();
            let needs_quotes = csv && name.contains([delimiter, quote, '\n', '\r']);
            if needs_quotes {
                let doubled = name.replace(quote, &format!("{quote}{quote}"));
                format!("{quote}{doubled}{quote}")
            } else {
                name.clone()
            }
        })
        .collect();
    format!("{}\n", names.join(&delimiter.to_string()))
}
