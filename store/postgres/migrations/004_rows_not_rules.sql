-- botlife schema, version 4: rows, not rules. The store keeps the rows the
-- core computes (lifecycle.Change.Rows, Change.Due) and compares them; no
-- column holds a lifecycle.State any more.
--
-- bot_senders.slot is lifecycle.SenderRow.Slot: 'active', 'draining', or
-- NULL while the bot is off the sender. It replaces the per-sender state,
-- read the way version 3 wrote it. serves_until is SenderRow.ServesUntil
-- (the drain's deadline on that sender), left_at SenderRow.LeftActive.
ALTER TABLE bot_senders ADD COLUMN slot text COLLATE "C";
UPDATE bot_senders SET slot = CASE state WHEN 2 THEN 'active' WHEN 3 THEN 'draining' END;
ALTER TABLE bot_senders RENAME COLUMN grace_deadline TO serves_until;
-- Dropping the state drops the indexes on it: one_active_bot_per_sender,
-- one_deactivated_bot_per_sender and bot_senders_live.
ALTER TABLE bot_senders DROP COLUMN state;
-- R1, R2: one bot per slot of a sender. SenderBots reads the live bots of
-- a sender through it too.
CREATE UNIQUE INDEX one_bot_per_slot ON bot_senders (channel, address, slot) WHERE slot IS NOT NULL;

-- bots.due_at is Change.Due: when ExpireDue must look at the bot (Due reads
-- it through bots_due_drains). The bot's state and activations live in its
-- document only.
ALTER TABLE bots RENAME COLUMN grace_deadline TO due_at;
ALTER TABLE bots DROP COLUMN state, DROP COLUMN activations;

-- SessionStats reads counters, never the sessions: per bot, sender, open
-- or closed with its reason, the sessions and their messages. A trigger
-- keeps them in the statement that changes a session. Each key is split
-- over 16 shards (by session id), so that messages to one sender do not
-- all wait for one counter row.
CREATE TABLE session_stats (
	bot_id   text COLLATE "C" NOT NULL,
	channel  text COLLATE "C" NOT NULL,
	address  text COLLATE "C" NOT NULL,
	open     boolean NOT NULL,
	reason   text COLLATE "C" NOT NULL, -- '' while open
	shard    smallint NOT NULL,
	sessions bigint NOT NULL,
	messages bigint NOT NULL,
	PRIMARY KEY (bot_id, channel, address, open, reason, shard)
);
INSERT INTO session_stats
	SELECT bot_id, channel, address, closed_at IS NULL, close_reason, id % 16, count(*), sum(messages)
	FROM sessions GROUP BY 1, 2, 3, 4, 5, 6;

CREATE FUNCTION botlife_count_session(s sessions, n bigint, messages bigint) RETURNS void LANGUAGE sql AS $$
	INSERT INTO session_stats AS t VALUES
		(s.bot_id, s.channel, s.address, s.closed_at IS NULL, s.close_reason, s.id % 16, n, messages)
	ON CONFLICT (bot_id, channel, address, open, reason, shard)
	DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions, messages = t.messages + EXCLUDED.messages
$$;
-- A message on an open session changes its messages only: one counter row.
CREATE FUNCTION botlife_session_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.closed_at IS NULL AND OLD.closed_at IS NULL THEN
		PERFORM botlife_count_session(NEW, 0, NEW.messages - OLD.messages);
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		PERFORM botlife_count_session(OLD, -1, -OLD.messages);
	END IF;
	IF TG_OP <> 'DELETE' THEN
		PERFORM botlife_count_session(NEW, 1, NEW.messages);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER session_stats AFTER INSERT OR UPDATE OR DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION botlife_session_stats();
