//! `ifs-connect discover BASE_URL`: the realm (Authority URL) from the Base URL alone.

use std::process::ExitCode;

use super::Failure;
use crate::core::ifs::discover;

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Find the IFS Cloud realm (the Authority URL) from the Base URL alone: follows \
                  a few redirects from BASE_URL/main/ifsapplications/web/ and BASE_URL/ without \
                  credentials or cookies, takes the first URL shaped .../auth/realms/R/..., and \
                  confirms it with that realm's discovery document. Exits 1 when nothing is found."
)]
pub struct DiscoverArgs {
    /// The Base URL of the IFS Cloud instance, e.g. https://ifs.example.com
    pub base_url: String,
    /// Print one JSON object: {base_url, tried: [{start, requests, result}], found?}
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: DiscoverArgs) -> Result<ExitCode, Failure> {
    let discovery = discover::discover(&args.base_url)
        .await
        .map_err(|e| Failure::usage(format!("the Base URL is not usable: {e}")))?;
    if args.json {
        let text = serde_json::to_string_pretty(&discovery).map_err(Failure::other)?;
        println!("{text}");
    } else if discovery.found.is_some() {
        println!("{}", discovery.lines().join("\n"));
    } else {
        eprintln!("{}", discovery.lines().join("\n"));
    }
    Ok(if discovery.found.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
