"""A webhook receiver for the tests: verifies every message with Standard
Webhooks' own library (PyPI `standardwebhooks`) and records what came.

Control (JSON, from the test):
- POST /_config {"secrets": [...], "status": 200, "offset": 0,
  "location": null}: the secrets to verify with (each tried on its own),
  the status to answer, how far the app's clock is ahead of this machine's
  (the library judges `webhook-timestamp` against "now": the app's), and
  a `Location` to answer with (a redirect, when the status is one).
- POST /_hold {"seconds": n}: each message from now on is recorded at once
  but answered only after n seconds (a sender killed meanwhile never
  hears the answer).
- GET /_received: every message so far, in order: its path, headers,
  body, whether it parsed, and which secrets verified it.
Every other POST is a message.
"""

import json
import sys
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import threading
import time

import standardwebhooks.webhooks as library
from standardwebhooks import Webhook

STATE = {"secrets": [], "status": 200, "offset": 0, "location": None, "hold": 0, "received": []}
LOCK = threading.Lock()


class AppClock(datetime):
    """`datetime` whose now is the app's clock."""

    @classmethod
    def now(cls, tz=None):
        real = datetime.now(tz=tz or timezone.utc)
        return real + timedelta(seconds=STATE["offset"])


library.datetime = AppClock


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"{}", location=None):
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_received":
            with LOCK:
                body = json.dumps(STATE["received"]).encode()
            return self.answer(200, body)
        self.answer(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path == "/_config":
            with LOCK:
                STATE.update(json.loads(body))
            return self.answer(200)
        if self.path == "/_hold":
            with LOCK:
                STATE["hold"] = json.loads(body)["seconds"]
            return self.answer(200)
        headers = {k.lower(): v for k, v in self.headers.items()}
        verified = []
        with LOCK:
            secrets = list(STATE["secrets"])
            status = STATE["status"]
            location = STATE["location"]
            hold = STATE["hold"]
        for i, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(body, headers)
                verified.append(i)
            except Exception:
                pass
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        with LOCK:
            STATE["received"].append(
                {
                    "path": self.path,
                    "headers": headers,
                    "body": body.decode("utf-8", "replace"),
                    "json": parsed,
                    "verified_with": verified,
                }
            )
        if hold:
            time.sleep(hold)
        if verified:
            self.answer(status, location=location)
        else:
            self.answer(400)


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
