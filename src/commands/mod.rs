//! One module per subcommand.

pub mod check;
pub mod demo;
pub mod reload;
pub mod serve;
pub mod tables;
pub mod token;
