-- botlife schema, version 5: the trigger that keeps session_stats runs its
-- statements itself, so PL/pgSQL keeps their plans, instead of calling a
-- SQL function that PostgreSQL planned again on every call: that made the
-- counter most of the cost of a message on an open session (issue 25).
CREATE OR REPLACE FUNCTION botlife_session_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.closed_at IS NULL AND OLD.closed_at IS NULL THEN -- a message: one counter row
		UPDATE session_stats SET messages = messages + NEW.messages - OLD.messages
		WHERE (bot_id, channel, address, open, reason, shard) = (NEW.bot_id, NEW.channel, NEW.address, true, '', NEW.id % 16);
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO session_stats AS t VALUES (OLD.bot_id, OLD.channel, OLD.address, OLD.closed_at IS NULL, OLD.close_reason, OLD.id % 16, -1, -OLD.messages)
		ON CONFLICT (bot_id, channel, address, open, reason, shard)
		DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions, messages = t.messages + EXCLUDED.messages;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO session_stats AS t VALUES (NEW.bot_id, NEW.channel, NEW.address, NEW.closed_at IS NULL, NEW.close_reason, NEW.id % 16, 1, NEW.messages)
		ON CONFLICT (bot_id, channel, address, open, reason, shard)
		DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions, messages = t.messages + EXCLUDED.messages;
	END IF;
	RETURN NULL;
END
$$;
DROP FUNCTION botlife_count_session(sessions, bigint, bigint);
