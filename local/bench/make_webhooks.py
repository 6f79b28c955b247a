"""Writes N distinct, realistic ~1 KiB Segment track webhooks, each with its
X-Signature (hex HMAC-SHA1 of the body), one `body<TAB>signature` per line,
for webhooks.lua. Usage: make_webhooks.py OUT SECRET N"""
import hashlib
import hmac
import json
import random
import sys

out, secret, count = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
rng = random.Random(42)
products = ["Monopoly: 3rd Edition", "Uno Card Game", "Settlers of Catan", "Ticket to Ride"]
with open(out, "w") as f:
    for i in range(count):
        body = {
            "type": "track",
            "event": "Order Completed",
            "userId": f"user-{rng.randrange(10**6)}",
            "anonymousId": f"{rng.getrandbits(64):016x}",
            "timestamp": f"2026-11-23T12:{i % 60:02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}Z",
            "context": {
                "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                "library": {"name": "analytics.js", "version": "2.11.1"},
                "page": {"path": "/checkout", "url": "https://shop.example.com/checkout"},
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            },
            "properties": {
                "orderId": f"order-{i}",
                "total": round(rng.uniform(5, 500), 2),
                "currency": "USD",
                "products": [
                    {"sku": f"sku-{rng.randrange(10**5)}", "name": rng.choice(products),
                     "price": round(rng.uniform(5, 80), 2), "quantity": rng.randrange(1, 4)}
                    for _ in range(3)
                ],
            },
        }
        text = json.dumps(body, separators=(",", ":"))
        pad = max(0, 1024 - len(text) - 12)
        body["properties"]["note"] = "x" * pad
        text = json.dumps(body, separators=(",", ":"))
        sig = hmac.new(secret, text.encode(), hashlib.sha1).hexdigest()
        f.write(f"{text}\t{sig}\n")
