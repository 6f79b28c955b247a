//! `inlet sign`: the headers a provider would send with a body.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use inlet_shared::Config;
use inlet_shared::signature::{SCHEME_NAMES, Scheme, Secret, SignWith};

use crate::CliError;

/// Arguments of `inlet sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The signature scheme: any named scheme that signs with a shared
    /// secret (twilio, square and hubspot with --public-url); for hmac use
    /// --config and --source.
    #[arg(long, default_value = "segment")]
    pub scheme: String,
    /// The secret to sign with.
    #[arg(long, env = "INLET_SECRET", hide_env_values = true)]
    pub secret: String,
    /// Take the scheme of this configured source (needs --config).
    #[arg(long, requires = "config")]
    pub source: Option<String>,
    /// The configuration file holding --source.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Twilio, Square, HubSpot: the public base URL the provider calls.
    #[arg(long)]
    pub public_url: Option<String>,
    /// The path and query the request goes to (default /webhooks/<scheme>).
    #[arg(long)]
    pub path: Option<String>,
    /// Standard Webhooks: the message id (default: a new one).
    #[arg(long)]
    pub id: Option<String>,
    /// The signing time as Unix seconds (default: now).
    #[arg(long)]
    pub timestamp: Option<u64>,
}

pub(crate) fn sign(args: SignArgs) -> Result<(), CliError> {
    let (scheme, name) = scheme(&args)?;
    let mut body = Vec::new();
    std::io::stdin().read_to_end(&mut body)?;
    let now = args
        .timestamp
        .map_or_else(SystemTime::now, |t| UNIX_EPOCH + Duration::from_secs(t));
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("msg_{}", uuid_like()));
    let path = args
        .path
        .clone()
        .unwrap_or_else(|| format!("/webhooks/{name}"));
    let secret = Secret::new(args.secret.clone());
    let scheme = scheme
        .for_secrets(std::slice::from_ref(&secret))
        .map_err(|why| CliError::Usage(format!("--secret: {why}")))?;
    if !scheme.can_sign(&secret) {
        return Err(CliError::Usage(format!(
            "--secret: scheme {:?} cannot sign with this key (a public key only verifies; for standard-webhooks give the whsec_ secret)",
            scheme.name()
        )));
    }
    let with = SignWith {
        secret: &secret,
        body: &body,
        now,
        path_and_query: &path,
        id: &id,
    };
    for (name, value) in scheme.sign(&with) {
        println!("{name}: {value}");
    }
    // Mailgun and Adyen sign inside the body: print the body to send.
    if let Some(body) = scheme.signed_body(&with) {
        println!();
        println!("{}", String::from_utf8_lossy(&body));
    }
    Ok(())
}

fn scheme(args: &SignArgs) -> Result<(Scheme, String), CliError> {
    if let (Some(source), Some(config)) = (&args.source, &args.config) {
        let config = Config::load(config, &|name| std::env::var(name).ok())?;
        let found = config.sources.get(source).ok_or_else(|| {
            CliError::Usage(format!(
                "--source: no source {source:?} in the configuration"
            ))
        })?;
        return Ok((found.scheme.clone(), source.clone()));
    }
    let scheme = Scheme::named(&args.scheme, args.public_url.as_deref())
        .map_err(|e| {
            CliError::Usage(format!(
                "--scheme {}: {} (pass --{})",
                args.scheme,
                e.why,
                e.key.replace('_', "-")
            ))
        })?
        .ok_or_else(|| {
            CliError::Usage(format!(
                "--scheme {:?}: use one of {SCHEME_NAMES} (hmac: use --config and --source)",
                args.scheme
            ))
        })?;
    Ok((scheme, args.scheme.clone()))
}

fn uuid_like() -> String {
    use rand::Rng;
    hex::encode(rand::rng().random::<[u8; 12]>())
}
