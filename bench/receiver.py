"""A webhook receiver for the benchmark: answers every POST with 204,
after 2 s on the path /slow and at once elsewhere, and counts the POSTs it
answered; `GET /count` answers that count. HTTP/1.1 with keep-alive (as
tollgate's client reuses its connections), loopback only, standard library
only. It does not verify signatures: the tests' receiver does, with
Standard Webhooks' own library; this one only has to be fast, or slow.

    python3 bench/receiver.py PORT
"""

import asyncio
import sys

answered = 0


async def serve(reader, writer):
    global answered
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            if method == "GET" and path == "/count":
                body = str(answered).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            else:
                if path == "/slow":
                    await asyncio.sleep(2)
                answered += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main(port):
    server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
