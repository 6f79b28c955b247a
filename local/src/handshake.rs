//! `inlet handshake-secret`: prints, once, a secret a provider sent in its
//! handshake to the running `inlet serve` (Notion's verification token), so
//! the operator can paste it into the provider and into `secrets`. The
//! server holds it in memory only and never logs it.

use clap::Args;

use crate::CliError;
use crate::console_client::{ServerArgs, refusal};

/// Arguments of `inlet handshake-secret`.
#[derive(Debug, Args)]
pub struct HandshakeSecretArgs {
    /// The webhook source (`[sources.<name>]`) the handshake came to.
    pub source: String,
    /// The server, and a token that may see the source's topic.
    #[command(flatten)]
    pub server: ServerArgs,
}

pub(crate) async fn run(args: HandshakeSecretArgs) -> Result<(), CliError> {
    let path = format!("sources/{}/handshake-secret", args.source);
    let (status, body) = args.server.call(reqwest::Method::POST, &path).await?;
    if !(200..300).contains(&status) {
        return Err(refusal(status, &body));
    }
    let secret = body["secret"].as_str().unwrap_or_default();
    eprintln!(
        "Received at {} for source {:?}; shown once. Next: {}.",
        body["receivedAt"].as_str().unwrap_or("?"),
        args.source,
        body["next"]
            .as_str()
            .unwrap_or("add it to the source's secrets")
    );
    println!("{secret}");
    Ok(())
}
