-- botlife schema, version 12: an opening holds its group's row
-- (botlife_hold_group) before it takes the workspace's next session id and
-- inserts the session, not after. Inserting first, it held the session's
-- session_stats row (the trigger counts the opening) while it waited for a
-- sweep that held the group, and the sweep, closing a session of the same
-- bot and sender whose counter shard is that one, waited for the opening:
-- a deadlock, which PostgreSQL broke after deadlock_timeout by failing one
-- of them. It also held the workspace's session head meanwhile, so every
-- other opening in the workspace waited for that sweep.
--
-- An opening also makes its group due no later than the new session's
-- idle deadline (botlife_hold_group with _end): opened at an instant before
-- one a sweep saw (the clock stepped back), the session can end before the
-- group's due. It writes the row only then.
CREATE FUNCTION botlife_hold_group(_ws text, _bot text, _channel text, _address text, _activation bigint, _end bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM botlife_hold_group(_ws, _bot, _channel, _address, _activation);
	IF _end IS NOT NULL THEN
		UPDATE session_groups SET due = _end
			WHERE (workspace, bot_id, channel, address, activation) = (_ws, _bot, _channel, _address, _activation) AND due > _end;
	END IF;
	RETURN true;
END
$$;

CREATE OR REPLACE FUNCTION botlife_open_session(_ws text, _channel text, _address text, _end_user text, _at bigint, _bot text, _revision bigint, _activation bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	_idle bigint;
	_id bigint;
BEGIN
	SELECT b.idle_timeout INTO _idle FROM bots b WHERE b.workspace = _ws AND b.id = _bot AND b.revision = _revision FOR SHARE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	PERFORM botlife_hold_group(_ws, _bot, _channel, _address, _activation,
		CASE WHEN _idle > 0 THEN LEAST(_at::numeric + _idle, 9223372036854775807)::bigint END);
	UPDATE workspace_heads SET seq = seq + 1 WHERE workspace = _ws AND head = 'session' RETURNING seq INTO _id;
	IF NOT FOUND THEN -- the workspace's first session
		INSERT INTO workspace_heads AS h VALUES (_ws, 'session', 1)
			ON CONFLICT (workspace, head) DO UPDATE SET seq = h.seq + EXCLUDED.seq RETURNING seq INTO _id;
	END IF;
	INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages, activity_floor)
		VALUES (_ws, _id, _channel, _address, _end_user, _bot, _activation, _at, _at, 1, botlife_activity_floor(_at, _idle));
	PERFORM set_config('synchronous_commit', CASE current_setting('synchronous_commit') WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, true);
	RETURN _id;
END
$$;

-- A sweep locks the groups due in key order after its earliest ones, in
-- batches, until it has closed its limit: session_groups_due holds the key.
DROP INDEX session_groups_due;
CREATE INDEX session_groups_due ON session_groups (workspace, due, bot_id, channel, address, activation);

-- Two triggers keep session_groups whatever process writes, one of a
-- version before 11 during a rolling upgrade included: a session inserted
-- holds its group (botlife_hold_group: nothing more for an opening that
-- holds it already), and a bot updated or deleted makes its groups due, as
-- a commit must (its rows may end their sessions sooner). The latter runs
-- after the bot's row lock, so a commit waits for an opening that holds the
-- bot (FOR SHARE) before it touches the bot's groups, never the other way.
CREATE FUNCTION botlife_session_group() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM botlife_hold_group(NEW.workspace, NEW.bot_id, NEW.channel, NEW.address, NEW.activation);
	RETURN NULL;
END
$$;
CREATE TRIGGER session_group AFTER INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION botlife_session_group();
CREATE FUNCTION botlife_groups_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE session_groups SET due = -9223372036854775808
		WHERE workspace = OLD.workspace AND bot_id = OLD.id AND due > -9223372036854775808;
	RETURN NULL;
END
$$;
CREATE TRIGGER groups_due AFTER UPDATE OR DELETE ON bots FOR EACH ROW EXECUTE FUNCTION botlife_groups_due();
