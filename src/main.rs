//! `lakegate`: the binary. It only wires the library crates together.

mod cli;
mod commands;
mod config;
mod http;
mod logging;
mod server;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

// Queries allocate and free many short-lived buffers from every thread at once; the
// system allocator's arenas make that a measurable share of a query's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lakegate: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Serve(args) => commands::serve::run(args).await,
            Command::Token(args) => commands::token::run(args),
            Command::Check(args) => commands::check::run(args).await,
            Command::Tables(args) => commands::tables::run(args).await,
            Command::Reload(args) => commands::reload::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lakegate: {e}");
            ExitCode::FAILURE
        }
    }
}
