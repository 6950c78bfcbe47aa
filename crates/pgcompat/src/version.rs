//! `version()` in the form PostgreSQL drivers parse.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::error::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// `server_version` as the Postgres front end reports it at login (`ParameterStatus`).
pub const SERVER_VERSION: &str = pg_version!();

/// `server_version_num`: major × 10000 + minor, as PostgreSQL 10 and later write it.
pub const SERVER_VERSION_NUM: &str = "160006";

/// The server version string: PostgreSQL-compatible, naming lakegate.
pub fn version_string() -> String {
    format!(
        concat!(
            "PostgreSQL ",
            pg_version!(),
            " (lakegate {}, Apache DataFusion) on {}"
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_number_follows_the_version() {
        let (major, minor) = SERVER_VERSION.split_once('.').unwrap();
        let number = major.parse::<u32>().unwrap() * 10_000 + minor.parse::<u32>().unwrap();
        assert_eq!(SERVER_VERSION_NUM, number.to_string());
        assert!(version_string().starts_with(&format!("PostgreSQL {SERVER_VERSION} ")));
    }
}
