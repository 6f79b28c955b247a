#!/usr/bin/env python3
"""Issue 25's console experiment: a topic of 50 KB records, then 128
clients looking up a record that is not there, again and again for 5 s
(without a token, and with one), while a normal client sends webhooks one
after another.
Prints the server's peak RSS and the webhooks' median latency for each.

    python3 local/bench/console_lookups.py INLET_BINARY
"""

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

PORT = 8798
BASE = f"http://127.0.0.1:{PORT}"
CONFIG = """
[topics.webhooks]
[sources.open]
scheme = "none"
topic = "webhooks"
[tokens.reader]
token = "env:READER"
topics = ["webhooks"]
read = ["webhooks"]
"""


def post(path, body, headers=None):
    request = urllib.request.Request(BASE + path, data=body, method="POST", headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def lookup(token):
    headers = {"authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(BASE + "/console/api/topics/webhooks/record?stream=none&time=never", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def run(inlet, token, label):
    work = tempfile.mkdtemp()
    with open(f"{work}/inlet.toml", "w") as f:
        f.write(CONFIG)
    server = subprocess.Popen(
        [inlet, "serve", "--addr", f"127.0.0.1:{PORT}", "--config", f"{work}/inlet.toml", "--data-dir", f"{work}/data"],
        env={**os.environ, "READER": "reader-token"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(1.5)
        big = json.dumps({"type": "big", "pad": "x" * 50_000}).encode()
        for _ in range(2_500):
            post("/webhooks/open", big, {"content-type": "application/json"})
        before = rss_kb(server.pid, "VmRSS")
        # The normal client is a process of its own (curl in a loop), so
        # this script's threads do not slow its requests down.
        normal = subprocess.Popen(
            [
                "sh",
                "-c",
                "while :; do curl -s -o /dev/null -w '%{time_total}\\n' -X POST "
                "-H 'content-type: application/json' -d '{\"type\":\"small\"}' "
                f"{BASE}/webhooks/open; sleep 0.02; done",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        until = time.monotonic() + 5

        def client(_):
            seen = []
            while time.monotonic() < until:
                seen.append(lookup(token))
            return seen

        with concurrent.futures.ThreadPoolExecutor(128) as pool:
            statuses = [s for seen in pool.map(client, range(128)) for s in seen]
        normal.terminate()
        latencies = sorted(float(line) for line in normal.communicate()[0].split())
        peak = rss_kb(server.pid, "VmHWM")
        counts = {s: statuses.count(s) for s in sorted(set(statuses))}
        print(
            f"{label}: answers {counts}; RSS {before // 1024} MB before, peak {peak // 1024} MB; "
            f"normal webhooks p50 {latencies[len(latencies) // 2] * 1000:.1f} ms over {len(latencies)}"
        )
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work)


if __name__ == "__main__":
    inlet = sys.argv[1] if len(sys.argv) > 1 else "target/debug/inlet"
    run(inlet, None, "128 lookups without a token")
    run(inlet, "reader-token", "128 lookups with a reading token")
