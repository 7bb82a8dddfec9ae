//! The `tessera` binary: `tessera serve` and the admin commands.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    tessera_server::cli::run(tessera_server::cli::Cli::parse()).await
}
