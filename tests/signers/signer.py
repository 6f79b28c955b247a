"""Signs webhooks with the senders' own Python libraries (PyPI stripe,
slack_sdk, twilio, hubspot-api-client, svix, standardwebhooks): never with
Inlet's signer.

One JSON request per line on stdin, one JSON answer per line on stdout:
  {"with": "stripe" | "slack", "secret", "timestamp", "body"} -> {"headers"}
  {"with": "twilio", "secret", "url", "form": {...}}          -> {"headers"}
  {"with": "twilio", "secret", "url", "body"}                  -> {"headers", "url"}
      (a JSON body: Twilio signs the URL with its bodySHA256 added)
  {"with": "hubspot", "secret", "url", "timestamp", "body"}    -> {"headers"}
  {"with": "svix" | "standardwebhooks", "secret", "id", "timestamp", "body"}
                                                               -> {"headers"}
"""

import json
import sys
from datetime import datetime, timezone

import standardwebhooks.webhooks
import svix.webhooks
from hubspot.utils.signature import Signature
from slack_sdk.signature import SignatureVerifier
from stripe import WebhookSignature
from twilio.request_validator import RequestValidator


def at(timestamp):
    return datetime.fromtimestamp(timestamp, tz=timezone.utc)


def stripe(r):
    header = WebhookSignature.generate_signature_header(r["body"], r["secret"], r["timestamp"])
    return {"headers": {"Stripe-Signature": header}}


def slack(r):
    ts = str(r["timestamp"])
    signature = SignatureVerifier(r["secret"]).generate_signature(timestamp=ts, body=r["body"])
    return {"headers": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}}


def twilio(r):
    validator = RequestValidator(r["secret"])
    if "form" in r:
        signature = validator.compute_signature(r["url"], r["form"])
        return {"headers": {"X-Twilio-Signature": signature}}
    url = f'{r["url"]}?bodySHA256={validator.compute_hash(r["body"])}'
    return {"headers": {"X-Twilio-Signature": validator.compute_signature(url, {})}, "url": url}


def hubspot(r):
    ms = str(r["timestamp"] * 1000)
    signature = Signature.get_signature(
        r["secret"], r["body"], "v3", http_uri=r["url"], http_method="POST", timestamp=ms
    )
    return {"headers": {"X-HubSpot-Signature-v3": signature, "X-HubSpot-Request-Timestamp": ms}}


def svix_signed(r):
    signature = svix.webhooks.Webhook(r["secret"]).sign(r["id"], at(r["timestamp"]), r["body"])
    return {"headers": {"svix-id": r["id"], "svix-timestamp": str(r["timestamp"]), "svix-signature": signature}}


def standard(r):
    hook = standardwebhooks.webhooks.Webhook(r["secret"])
    signature = hook.sign(r["id"], at(r["timestamp"]), r["body"])
    return {"headers": {"webhook-id": r["id"], "webhook-timestamp": str(r["timestamp"]), "webhook-signature": signature}}


SIGNERS = {
    "stripe": stripe,
    "slack": slack,
    "twilio": twilio,
    "hubspot": hubspot,
    "svix": svix_signed,
    "standardwebhooks": standard,
}

for line in sys.stdin:
    request = json.loads(line)
    try:
        answer = SIGNERS[request["with"]](request)
    except Exception as error:  # the test shows it
        answer = {"error": repr(error)}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
