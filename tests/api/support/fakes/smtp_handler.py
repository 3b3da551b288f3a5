"""aiosmtpd's Mailbox handler, refusing one mailbox for good.

The tests' SMTP server saves every message into a maildir, as
`aiosmtpd.handlers.Mailbox` does, except those to `refused@…`: that
recipient is answered `550`, a permanent refusal, as a real server answers
for a mailbox that does not exist.
"""

from aiosmtpd.handlers import Mailbox


class RefusingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower().startswith("refused@"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"
