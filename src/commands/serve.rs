//! `lakegate serve`.

use crate::cli::ServeArgs;
use crate::config::Loaded;
use crate::server::{Overrides, Server};

pub async fn run(args: ServeArgs) -> Result<(), String> {
    let loaded = Loaded::load(&args.config.config).map_err(|e| e.to_string())?;
    let overrides = Overrides {
        pg: args.pg,
        flight: args.flight,
        http: args.http,
    };
    let server = Server::build(loaded, overrides).await?;
    announce(&server);
    server.run().await
}

/// The lines tests and scripts read to find the ports (port 0 picks a free one).
pub fn announce(server: &Server) {
    if let Some(addr) = server.pg_addr() {
        println!("lakegate: postgres listening on {addr}");
    }
    if let Some(addr) = server.flight_addr() {
        println!("lakegate: flight listening on {addr}");
    }
    if let Some(addr) = server.http_addr() {
        println!("lakegate: http listening on {addr}");
    }
}
