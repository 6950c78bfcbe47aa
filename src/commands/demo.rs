//! `lakegate demo`: write the demo, print connection lines, serve.

use std::collections::BTreeMap;
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
        http: args.http.to_string(),
    };
    let dir = args.dir.clone();
    let config = tokio::task::spawn_blocking(move || write_demo(&options))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let loaded = Loaded::load(&config).map_err(|e| e.to_string())?;
    println!("lakegate demo: lake, config and keys in {}", dir.display());
    print_connection_lines(&loaded, args.pg.port())?;
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

fn print_connection_lines(loaded: &Loaded, port: u16) -> Result<(), String> {
    let signer = signer(loaded)?;
    println!("\nConnect with psql (one line per persona; the password is the token):");
    let mut python = Vec::new();
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
        python.push((persona.subject, token));
    }
    println!("\nOr from Python (pip install 'psycopg[binary]'):");
    for (subject, token) in python {
        println!("\n  # {subject}");
        println!(
            "  import psycopg; conn = psycopg.connect(host='127.0.0.1', port={port}, dbname='lake', user='token', password='{token}', sslmode='require'); print(conn.execute('SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2').fetchall())"
        );
    }
    println!(
        "\nTry: \\dn   \\dt parking_raw_zone.*   SELECT count(*) FROM parking_raw_zone.liberator_pcn_tickets_latest;"
    );
    Ok(())
}
