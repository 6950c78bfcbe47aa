//! `version()` in the form PostgreSQL drivers parse.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The server version string: PostgreSQL-compatible, naming lakegate.
pub fn version_string() -> String {
    format!(
        "PostgreSQL 16.6 (lakegate {}, Apache DataFusion) on {}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Version {
    signature: Signature,
}

impl ScalarUDFImpl for Version {
    fn name(&self) -> &str {
        "version"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, _: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
            version_string(),
        ))))
    }
}

/// Replaces DataFusion's own `version()`, which drivers cannot parse.
pub fn version_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Version {
        signature: Signature::exact(vec![], Volatility::Immutable),
    })
}
