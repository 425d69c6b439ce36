-- botlife schema, version 8: a message from an end user with no session
-- open on a sender opens one in the statement that routes it (issue 25):
-- one round trip, not two. The routing statement calls this function only
-- then, so a message on an open session pays nothing for it; a PL/pgSQL
-- function keeps the plans of its statements.
--
-- It opens the session as the second statement of Route did: on the bot
-- holding the sender's active slot, in its activation there, read by the
-- calling statement with the bot's revision (a commit changes a bot and its
-- sender rows together). The share lock keeps the bot at that revision
-- until the session is stored; a bot changed since opens nothing (NULL).
-- The session takes the workspace's next id under the head's row lock,
-- held until the commit, so ids are gap-free (a plain UPDATE of the head,
-- which costs less than the INSERT ... ON CONFLICT that makes it for the
-- workspace's first session); a session the end user opened
-- meanwhile makes the insert fail on one_open_session. The opening commits
-- durably, whatever the server's default.
CREATE FUNCTION botlife_open_session(_ws text, _channel text, _address text, _end_user text, _at bigint, _bot text, _revision bigint, _activation bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	_idle bigint;
	_id bigint;
BEGIN
	SELECT b.idle_timeout INTO _idle FROM bots b WHERE b.workspace = _ws AND b.id = _bot AND b.revision = _revision FOR SHARE;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
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
