-- Why a message was given up on (the mail server's refusal, say), kept with
-- its row for as long as the row is kept. Never a secret: the body, with its
-- link, is blanked when a message is done either way.
ALTER TABLE outbox ADD COLUMN failure TEXT;
