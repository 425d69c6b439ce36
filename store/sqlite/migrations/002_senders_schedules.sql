-- botlife schema, version 2: a bot's state per sender (R22) and schedules
-- (R23).
--
-- bot_senders.state is now the bot's state ON that sender, from Bot.Live:
-- 2 (Active) or 3 (Deactivated, draining there), 4 (Inactive) where the bot
-- is off. The partial unique indexes of version 1 so enforce R1 and R2 per
-- sender. A live row also carries the activation the bot joined the sender
-- in (SenderState.Activation) and, while it drains there, the sender's
-- grace deadline: what Route's fast path needs to restate
-- lifecycle.SessionEnd.
ALTER TABLE bot_senders ADD COLUMN activation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bot_senders ADD COLUMN grace_deadline INTEGER;

-- Before version 2 every sender of a live bot carried the bot's state, in
-- the bot's current activation and with its deadline. (The bot documents
-- gain Bot.Live in Go, in the same transaction: see upgrades in sqlite.go.)
UPDATE bot_senders
SET activation = (SELECT b.activations FROM bots AS b WHERE b.id = bot_senders.bot_id),
    grace_deadline = (SELECT b.grace_deadline FROM bots AS b WHERE b.id = bot_senders.bot_id AND b.state = 3)
WHERE state IN (2, 3);
UPDATE bot_senders SET state = 4 WHERE state NOT IN (2, 3);

-- DueDrains: every bot with a drain on some sender, whatever its own state
-- (an Active bot may drain on some of its senders), by its earliest
-- deadline (bots.grace_deadline is Bot.GraceDeadline, NULL when it drains
-- nowhere).
DROP INDEX bots_due_drains;
CREATE INDEX bots_by_grace_deadline ON bots (grace_deadline, id) WHERE grace_deadline IS NOT NULL;

-- Schedules (R23), kept whole in doc (store/internal/binarydoc, as bots are); the other
-- columns are copies for lookups. seq is creation order, max + 1 inside the
-- committing transaction; at is Unix nanoseconds.
CREATE TABLE schedules (
	id       TEXT    NOT NULL PRIMARY KEY,
	seq      INTEGER NOT NULL UNIQUE,
	at       INTEGER NOT NULL,
	status   TEXT    NOT NULL,
	revision INTEGER NOT NULL,
	doc      BLOB    NOT NULL
) STRICT, WITHOUT ROWID;
-- DueSchedules: the pending schedules by (at, seq), so that finding what is
-- due costs what is due, not every schedule ever made.
CREATE INDEX schedules_due ON schedules (at, seq) WHERE status = 'pending';
