//! `lakegate demo`: write the demo, print connection lines, serve.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use lakegate_demo::{DemoOptions, personas, write_demo};
use lakegate_gateway::identity::TokenRequest;

use crate::cli::DemoArgs;
use crate::commands::serve::announce;
use crate::commands::token::signer;
use crate::config::Loaded;
use crate::server::{Overrides, Server};

/// Demo tokens last a working day.
const DEMO_TTL: Duration = Duration::from_secs(12 * 3600);

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let options = DemoOptions {
        dir: args.dir.clone(),
        rows: args.rows,
        pg: args.pg.to_string(),
        flight: args.flight.to_string(),
        http: args.http.to_string(),
    };
    let dir = args.dir.clone();
    let config = tokio::task::spawn_blocking(move || write_demo(&options))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let loaded = Loaded::load(&config).map_err(|e| e.to_string())?;
    println!("lakegate demo: lake, config and keys in {}", dir.display());
    print_connection_lines(&loaded, args.pg.port(), args.flight)?;
    if args.no_serve {
        println!(
            "\nStart the server with:\n  lakegate serve --config {}",
            config.display()
        );
        return Ok(());
    }
    let server = Server::build(loaded, Overrides::default()).await?;
    announce(&server);
    println!("Press Ctrl-C to stop.");
    server.run().await
}

fn print_connection_lines(loaded: &Loaded, port: u16, flight: SocketAddr) -> Result<(), String> {
    let signer = signer(loaded)?;
    let cert = std::path::absolute(loaded.resolve(Path::new("tls/cert.pem")))
        .map_err(|e| e.to_string())?;
    println!("\nConnect with psql (one line per persona; the password is the token):");
    let mut notebooks = Vec::new();
    for persona in personas() {
        let token = signer.mint(&TokenRequest {
            subject: persona.subject.to_string(),
            departments: persona.departments.iter().map(|s| s.to_string()).collect(),
            groups: persona.groups.iter().map(|s| s.to_string()).collect(),
            attributes: persona
                .attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect::<BTreeMap<_, _>>(),
            ttl: DEMO_TTL,
        })?;
        println!("\n  # {} — {}", persona.subject, persona.description);
        println!(
            "  PGPASSWORD='{token}' psql \"host=127.0.0.1 port={port} dbname=lake user=token sslmode=require\""
        );
        let table = example_table(&persona.departments);
        notebooks.push((persona.subject, token, table));
    }
    println!(
        "\nOr paste into Jupyter: Arrow over Flight SQL (pip install adbc-driver-flightsql pyarrow pandas polars):"
    );
    for (subject, token, table) in notebooks {
        println!("\n# {subject}");
        println!("import adbc_driver_flightsql.dbapi as flightsql, polars as pl");
        println!(
            "conn = flightsql.connect(\"grpc+tls://{flight}\", autocommit=True, db_kwargs={{\"adbc.flight.sql.authorization_header\": \"Bearer {token}\", \"adbc.flight.sql.client_option.tls_root_certs\": open(\"{}\").read()}})",
            cert.display()
        );
        println!("cur = conn.cursor(); cur.execute(\"SELECT * FROM {table}\")");
        println!(
            "df = cur.fetch_arrow_table().to_pandas()  # or: pl.read_database(\"SELECT * FROM {table}\", conn)"
        );
    }
    println!(
        "\nTry: \\dn   \\dt parking_raw_zone.*   SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets_latest;"
    );
    Ok(())
}

/// A table each persona can read, for the example lines.
fn example_table(departments: &[&str]) -> &'static str {
    match departments.first().copied() {
        Some("parking") => "parking_raw_zone.liberator_pcn_tickets_latest",
        Some("housing") => "housing_raw_zone.tenancies_latest",
        Some("revenues") => "revenues_raw_zone.council_tax_accounts_latest",
        _ => "unrestricted_raw_zone.wards",
    }
}
