//! Bound parameters: one row of Arrow values from DoPut, carried inside a prepared
//! statement's handle as an IPC stream, and turned into plan parameters at execution.

use std::io::Cursor;

use lakegate_gateway::arrow::array::RecordBatch;
use lakegate_gateway::arrow::datatypes::DataType;
use lakegate_gateway::arrow::ipc::reader::StreamReader;
use lakegate_gateway::arrow::ipc::writer::StreamWriter;
use lakegate_gateway::{ParamValues, QueryError, ScalarValue};

/// The one row of parameters `batches` hold, as IPC bytes; `None` when they hold no row.
pub fn encode(batches: &[RecordBatch]) -> Result<Option<Vec<u8>>, QueryError> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    if rows > 1 {
        return Err(QueryError::Unsupported(format!(
            "binding {rows} rows of parameters to a query (bind one row)"
        )));
    }
    let invalid = |e: lakegate_gateway::arrow::error::ArrowError| QueryError::Data(e.to_string());
    let mut writer = StreamWriter::try_new(Vec::new(), &batch.schema()).map_err(invalid)?;
    writer.write(batch).map_err(invalid)?;
    writer.into_inner().map(Some).map_err(invalid)
}

/// Parameters bound by `DoPut`, as a prepared statement's handle carries them.
pub struct IpcParameters<'a>(pub &'a [u8]);

impl lakegate_gateway::Parameters for IpcParameters<'_> {
    fn bind(&self, types: &[Option<DataType>]) -> Result<ParamValues, QueryError> {
        decode(self.0, types)
    }
}

/// The parameters in `bytes`, each cast to the type the plan expects for it.
fn decode(bytes: &[u8], expected: &[Option<DataType>]) -> Result<ParamValues, QueryError> {
    let invalid = |e: String| QueryError::Data(format!("bound parameters: {e}"));
    let reader =
        StreamReader::try_new(Cursor::new(bytes), None).map_err(|e| invalid(e.to_string()))?;
    let mut values = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| invalid(e.to_string()))?;
        if batch.num_rows() == 0 {
            continue;
        }
        for (i, column) in batch.columns().iter().enumerate() {
            let value =
                ScalarValue::try_from_array(column, 0).map_err(|e| invalid(e.to_string()))?;
            let value = match expected.get(i) {
                Some(Some(t)) if t != &value.data_type() => value
                    .cast_to(t)
                    .map_err(|_| invalid(format!("${} cannot be read as {t}", i + 1)))?,
                _ => value,
            };
            values.push(value);
        }
        break;
    }
    if values.len() != expected.len() {
        return Err(invalid(format!(
            "{} given, the statement takes {}",
            values.len(),
            expected.len()
        )));
    }
    Ok(ParamValues::from(values))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lakegate_gateway::arrow::array::{Int64Array, StringArray};
    use lakegate_gateway::arrow::datatypes::{Field, Schema};

    use super::*;

    fn row(n: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("0", DataType::Utf8, true),
            Field::new("1", DataType::Int64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["E05009372"; n])),
                Arc::new(Int64Array::from(vec![7; n])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn one_row_round_trips_with_casts() {
        let bytes = encode(&[row(1)]).unwrap().unwrap();
        let params = decode(&bytes, &[Some(DataType::Utf8), Some(DataType::Int32)]).unwrap();
        let ParamValues::List(values) = params else {
            panic!("positional parameters expected")
        };
        let values: Vec<ScalarValue> = values.into_iter().map(|v| v.value).collect();
        assert_eq!(
            values,
            vec![
                ScalarValue::Utf8(Some("E05009372".into())),
                ScalarValue::Int32(Some(7))
            ]
        );
    }

    #[test]
    fn refuses_many_rows_wrong_counts_and_garbage() {
        assert!(encode(&[row(2)]).is_err());
        assert_eq!(encode(&[row(0)]).unwrap(), None);
        let bytes = encode(&[row(1)]).unwrap().unwrap();
        assert!(decode(&bytes, &[None]).is_err());
        assert!(decode(b"not ipc", &[None]).is_err());
    }
}
