-- botlife schema, version 3: a bot's state per sender (R22) and schedules
-- (R23).
--
-- bot_senders.state is now the bot's state ON THAT SENDER, from Bot.Live:
-- 2 Active, 3 Deactivated (draining there), anything else off (the store
-- writes 4, Inactive). The partial unique indexes one_active_bot_per_sender
-- and one_deactivated_bot_per_sender so enforce R1 and R2 per sender.
-- activation is the bot's Activations count when it went Active on the
-- sender (SenderState.Activation: a new session there belongs to it), and
-- grace_deadline the sender's own deadline while the bot drains there;
-- both NULL while the bot is off the sender.
ALTER TABLE bot_senders ADD COLUMN activation bigint, ADD COLUMN grace_deadline bigint;

-- Before version 3 a live bot was live on all its senders at once, in its
-- current activation, with its one deadline: the rows say so now. (Their
-- documents have no per-sender states; the store derives them the same way
-- when it reads such a document.)
UPDATE bot_senders bs SET activation = b.activations, grace_deadline = CASE WHEN bs.state = 3 THEN b.grace_deadline END
FROM bots b
WHERE b.id = bs.bot_id AND bs.state IN (2, 3);

-- bots.grace_deadline is the earliest deadline of the bot's drains
-- (Bot.GraceDeadline), set also for an Active bot that drains on some
-- sender: DueDrains reads every bot with one.
DROP INDEX bots_due_drains;
CREATE INDEX bots_due_drains ON bots (grace_deadline, id) WHERE grace_deadline IS NOT NULL;

-- SweepSessions decides per bot and sender (the sender's activation and
-- deadline), so the index of open sessions groups them so too.
DROP INDEX open_sessions_due;
CREATE INDEX open_sessions_due ON sessions (bot_id, channel, address, activation, last_activity_at) WHERE closed_at IS NULL;

-- Schedules (R23). doc is the whole lifecycle.Schedule in the binary
-- document format of the bots (exact: text byte for byte, times to the
-- nanosecond); the columns beside it are copies for queries, and seq is
-- the store's (the document's Seq is not read). Times are Unix nanoseconds.
CREATE TABLE schedules (
	id       text COLLATE "C" PRIMARY KEY,
	seq      bigint NOT NULL UNIQUE, -- creation order: 1, 2, 3...
	at       bigint NOT NULL,
	status   text COLLATE "C" NOT NULL,
	revision bigint NOT NULL,
	doc      bytea  NOT NULL
);
-- DueSchedules reads the pending ones by (At, Seq) through this index: its
-- cost is what is due, not every schedule ever made.
CREATE INDEX pending_schedules ON schedules (at, seq) WHERE status = 'pending';

-- schedule_head holds the last Seq handed out. A commit that creates
-- schedules takes its row lock, so Seq has no gaps (a refused commit
-- hands none out) and follows the order commits are made in.
CREATE TABLE schedule_head (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq bigint  NOT NULL
);
INSERT INTO schedule_head (seq) VALUES (0);
