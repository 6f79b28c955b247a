//! `inlet urls --stack NAME`: the URLs a deployed stack serves, read from its
//! CloudFormation outputs, with each configured webhook source's exact URL to
//! paste into the provider's dashboard.

use std::path::PathBuf;

use aws_sdk_cloudformation::Client;
use clap::Args;
use inlet_shared::Config;

use crate::CliError;
use crate::deploy::STAND_IN;

/// Arguments of `inlet urls`.
#[derive(Debug, Args)]
pub struct UrlsArgs {
    /// The CloudFormation stack `sam deploy` created.
    #[arg(long)]
    pub stack: String,
    /// The configuration deployed with it, for each source's URL (its
    /// secrets are not read).
    #[arg(long, env = "INLET_CONFIG_FILE")]
    pub config: Option<PathBuf>,
}

/// The outputs `inlet urls` reads.
const WEBHOOK_BASE: &str = "WebhookBaseUrl";
const WRITER_BASE: &str = "WriterBaseUrl";

pub(crate) async fn run(args: UrlsArgs) -> Result<(), CliError> {
    let config = match &args.config {
        // Every secret reference resolves to a stand-in: only names and
        // schemes are printed.
        Some(path) => Some(Config::load(path, &|_| Some(STAND_IN.to_owned()))?),
        None => None,
    };
    let client = Client::new(&inlet_shared::load_aws_config().await);
    let answer = client
        .describe_stacks()
        .stack_name(&args.stack)
        .send()
        .await
        .map_err(|e| {
            CliError::Usage(format!(
                "cannot read stack {:?}: {}",
                args.stack,
                aws_sdk_cloudformation::error::DisplayErrorContext(&e)
            ))
        })?;
    let stack = answer
        .stacks()
        .first()
        .ok_or_else(|| CliError::Usage(format!("no stack named {:?}", args.stack)))?;
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(|v| v.trim_end_matches('/').to_owned())
    };
    print!(
        "{}",
        render(
            &args.stack,
            output(WEBHOOK_BASE),
            output(WRITER_BASE),
            config.as_ref()
        )
    );
    Ok(())
}

fn render(
    stack: &str,
    webhooks: Option<String>,
    writer: Option<String>,
    config: Option<&Config>,
) -> String {
    let mut out = format!("Stack {stack}:\n");
    match &webhooks {
        Some(base) => match config {
            Some(config) if !config.sources.is_empty() => {
                out.push_str("\nWebhook URLs (paste each into its provider's dashboard):\n");
                for source in config.sources.values() {
                    out.push_str(&format!(
                        "  {:<12} {base}/{}    scheme {}, topic {}\n",
                        source.name,
                        source.name,
                        source.scheme.name(),
                        source.topic
                    ));
                    out.push_str(&format!(
                        "  {:<12} secret to paste into `secrets`: {}\n",
                        "",
                        source.scheme.secret_form()
                    ));
                }
            }
            Some(_) => out.push_str("\nThe configuration has no webhook sources.\n"),
            None => out.push_str(&format!(
                "\nWebhooks: {base}/<source> (give --config to list each source)\n"
            )),
        },
        None => out.push_str(&format!(
            "\nno {WEBHOOK_BASE} output: is this an Inlet stack?\n"
        )),
    }
    if let Some(base) = writer {
        out.push_str(&format!(
            "\nWriter API: {base}\n  e.g. POST {base}/topics/<topic>/streams/<stream>/events/data\n  samples: {base}/samples/curl?topic=<topic>\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_each_source_under_the_stacks_webhook_url() {
        let config = Config::parse(
            r#"
[topics.webhooks]
stream = "s"

[sources.github]
scheme = "github"
secrets = ["secret:inlet/github"]
topic = "webhooks"

[sources.stripe]
scheme = "stripe"
secrets = ["env:STRIPE"]
topic = "webhooks"
"#,
            &|_| Some("x".to_owned()),
        )
        .unwrap();
        let text = render(
            "inlet",
            Some("https://abc.example/webhooks".into()),
            Some("https://abc.example".into()),
            Some(&config),
        );
        assert!(
            text.contains(
                "github       https://abc.example/webhooks/github    scheme github, topic webhooks"
            ),
            "{text}"
        );
        assert!(
            text.contains("https://abc.example/webhooks/stripe"),
            "{text}"
        );
        assert!(
            text.contains(
                "secret to paste into `secrets`: the endpoint's signing secret (whsec_…)"
            ),
            "{text}"
        );
        assert!(text.contains("Writer API: https://abc.example"), "{text}");
    }
}
