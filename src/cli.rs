//! Command-line flags. Every flag is documented where it is defined.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A lakehouse SQL server: a council's Parquet lake as tables over the Postgres wire,
/// under JWT identity and policy.
#[derive(Debug, Parser)]
#[command(name = "lakegate", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines on stderr are written: `text` (control characters escaped, colour only
    /// on a terminal) or `json` (one object a line, for log shippers).
    #[arg(
        long,
        global = true,
        value_enum,
        env = "LAKEGATE_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: crate::logging::LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a synthetic council lake, config, policy, keys and certificate; then serve it
    /// and print ready-to-paste connection lines with a token per persona.
    Demo(DemoArgs),
    /// Run the server.
    Serve(ServeArgs),
    /// Mint a development token with the configured dev key (not an identity provider).
    Token(TokenArgs),
    /// Validate the config and policy against the lake and show what each zone holds.
    Check(ConfigArg),
    /// List schemas and tables, optionally as one principal sees them.
    Tables(TablesArgs),
    /// Make the running server relist the lake and re-read its policy (as SIGHUP does); a
    /// bad policy is refused.
    Reload(ReloadArgs),
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The server's HTTP address, if not `server.http` from the config.
    #[arg(long)]
    pub http: Option<SocketAddr>,
    /// A token of a group in `server.admin_groups`. Without one, a short-lived token is
    /// minted with the config's development key (for a development server only).
    #[arg(long, env = "LAKEGATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo lake and its files; re-running reuses what is there.
    #[arg(long, default_value = "./lakegate-demo")]
    pub dir: PathBuf,
    /// Penalty charge notices to generate; every other dataset scales with it.
    #[arg(long, default_value_t = 100_000)]
    pub rows: usize,
    /// Write the demo and print the connection lines, but do not start the server.
    #[arg(long)]
    pub no_serve: bool,
    /// Postgres address to serve the demo on.
    #[arg(long, default_value = "127.0.0.1:5433")]
    pub pg: SocketAddr,
    /// Flight SQL address to serve the demo on.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub flight: SocketAddr,
    /// Health and metrics address.
    #[arg(long, default_value = "127.0.0.1:9187")]
    pub http: SocketAddr,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// The server config (TOML).
    #[arg(long, short)]
    pub config: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Postgres address, overriding `server.pg` (port 0 picks a free port).
    #[arg(long)]
    pub pg: Option<SocketAddr>,
    /// Flight SQL address, overriding `server.flight`.
    #[arg(long)]
    pub flight: Option<SocketAddr>,
    /// Health address (`/healthz`, `/readyz`), overriding `server.http`.
    #[arg(long)]
    pub http: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The subject (and user name).
    #[arg(long)]
    pub sub: String,
    /// A department the token grants; repeat for more.
    #[arg(long = "department")]
    pub departments: Vec<String>,
    /// A group; repeat for more.
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// A named attribute as `name=value`; repeat for more values or names.
    #[arg(long = "attr")]
    pub attrs: Vec<String>,
    /// Lifetime such as `30m`, `1h`, `2d`, `45s`.
    #[arg(long, default_value = "1h")]
    pub ttl: String,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Show only what the holder of this token sees.
    #[arg(long = "as")]
    pub token: Option<String>,
}
