//! `inlet sign`: the headers a provider would send with a body.

use std::io::Read;

use clap::Args;
use inlet_shared::signature::{Scheme, Secret};
use inlet_shared::{Error, Result};

/// Arguments of `inlet sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signature scheme (segment, none).
    #[arg(long, default_value = "segment")]
    pub scheme: String,
    /// The secret to sign with.
    #[arg(long, env = "INLET_SECRET", hide_env_values = true)]
    pub secret: String,
}

pub(crate) fn sign(args: SignArgs) -> Result<()> {
    let scheme: Scheme = args
        .scheme
        .parse()
        .map_err(|e: Error| Error::BadRequest(format!("--scheme: {}", strip(e))))?;
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body)?;
    for (name, value) in scheme.sign(&Secret::new(args.secret), &body) {
        println!("{name}: {value}");
    }
    Ok(())
}

fn strip(e: Error) -> String {
    match e {
        Error::Config(m) => m,
        other => other.to_string(),
    }
}
