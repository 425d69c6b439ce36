-- botlife schema, version 2.
--
-- LastActive (R20) and LiveBots read through indexes, never every bot that
-- ever used a sender: bot_senders.left_at is the bot's DeactivatedAt (Unix
-- nanoseconds) on each of its senders while the bot has left Active and is
-- not Active again; NULL otherwise.
ALTER TABLE bot_senders ADD COLUMN left_at bigint;

-- Fill it for bots stored by version 1, from the RFC 3339 text of the
-- document, to the nanosecond (timestamptz alone holds microseconds).
UPDATE bot_senders bs SET left_at = x.ns
FROM (
	SELECT b.id,
	       extract(epoch FROM (m[1] || m[3])::timestamptz)::bigint * 1000000000
	       + rpad(coalesce(m[2], ''), 9, '0')::bigint AS ns
	FROM bots b,
	     regexp_match(b.doc->>'deactivated_at', '^(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$') AS m
	WHERE b.state <> 2 AND m IS NOT NULL
) x
WHERE bs.bot_id = x.id;

CREATE INDEX bot_senders_last_active ON bot_senders (channel, address, left_at DESC, bot_id) WHERE left_at IS NOT NULL;
CREATE INDEX bot_senders_live ON bot_senders (channel, address) WHERE state IN (2, 3);
DROP INDEX bot_senders_by_sender; -- nothing reads every bot of a sender any more

-- The bot document becomes bytes: the store writes a binary document that
-- keeps every value exactly (jsonb normalises a document, cannot hold NUL,
-- and JSON cannot keep invalid UTF-8). Documents of version 1 stay JSON
-- text, which the store still reads.
ALTER TABLE bots ALTER COLUMN doc TYPE bytea USING convert_to(doc::text, 'UTF8');

-- Commit sends a plan in one round trip; its checks raise this error
-- (SQLSTATE BL409), which the store reports as lifecycle.ErrConflict.
CREATE FUNCTION botlife_conflict(msg text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'BL409', MESSAGE = msg;
END
$$;

-- SweepSessions finds what is due through this index, bot by bot: every open
-- session of a bot that no longer serves, those of its earlier activations,
-- and those idle since before now - idle_timeout. A sweep costs what is
-- due, not every open session.
CREATE INDEX open_sessions_due ON sessions (bot_id, activation, last_activity_at) WHERE closed_at IS NULL;
DROP INDEX open_sessions_by_bot;
DROP INDEX sessions_by_bot; -- nothing reads sessions by bot but the sweep, through open_sessions_due
