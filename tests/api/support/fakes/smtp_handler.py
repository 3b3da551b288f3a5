"""aiosmtpd's Mailbox handler, refusing one mailbox for good.

The tests' SMTP server saves every message into a maildir, as
`aiosmtpd.handlers.Mailbox` does, except those to `refused@…`: that
recipient is answered `550`, a permanent refusal, as a real server answers
for a mailbox that does not exist.

A test may also make it hold one message (`SMTP_HOLD_SUBJECT`: the first
message with that subject after `SMTP_HOLD_AFTER` others with it): the
server then writes `held` into `SMTP_HOLD_DIR`, keeps the sender waiting
for its answer until the test writes `release` there, and answers `451`
(try again later) without saving it. A sender killed while it waits has
had nothing accepted, so whatever comes later is its only copy.

Or defer, once each, the messages with subject `SMTP_DEFER_SUBJECT` to
addresses starting with `SMTP_DEFER_PREFIX`: answered `451` the first
time (with a file `deferred-<address>` in `SMTP_HOLD_DIR`), accepted
after.
"""

import asyncio
import os

from aiosmtpd.handlers import Mailbox

HOLD_SUBJECT = os.environ.get("SMTP_HOLD_SUBJECT")
DEFER_SUBJECT = os.environ.get("SMTP_DEFER_SUBJECT")
DEFER_PREFIX = os.environ.get("SMTP_DEFER_PREFIX", "")
HOLD_AFTER = int(os.environ.get("SMTP_HOLD_AFTER", "0"))
HOLD_DIR = os.environ.get("SMTP_HOLD_DIR", "")


def subject_of(content: bytes) -> str:
    for line in content.split(b"\n"):
        line = line.rstrip(b"\r")
        if not line:
            break
        if line.startswith(b"Subject: "):
            return line[len(b"Subject: "):].decode("utf-8", "replace")
    return ""


class RefusingMailbox(Mailbox):
    seen = 0
    held = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refused@"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if DEFER_SUBJECT and subject_of(envelope.content) == DEFER_SUBJECT:
            for address in envelope.rcpt_tos:
                marker = os.path.join(HOLD_DIR, "deferred-" + address.lower())
                if address.lower().startswith(DEFER_PREFIX) and not os.path.exists(marker):
                    open(marker, "w").close()
                    return "451 4.3.0 Deferred by the test; try again later"
        if HOLD_SUBJECT and not self.held and subject_of(envelope.content) == HOLD_SUBJECT:
            self.seen += 1
            if self.seen > HOLD_AFTER:
                self.held = True
                open(os.path.join(HOLD_DIR, "held"), "w").close()
                while not os.path.exists(os.path.join(HOLD_DIR, "release")):
                    await asyncio.sleep(0.02)
                return "451 4.3.0 Held by the test; try again later"
        return await super().handle_DATA(server, session, envelope)
