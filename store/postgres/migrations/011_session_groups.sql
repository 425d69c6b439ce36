-- botlife schema, version 11: session_groups lists each group of open
-- sessions (one activation of one bot on one sender) with due, the instant
-- (unix nanoseconds) before which none of its sessions can be over, so
-- that SweepSessions visits the groups that are due, never every group.
-- A session opening holds its group's row (botlife_hold_group), adding it
-- due at once if there is none; a commit of a bot makes its groups due at
-- once; a sweep locks the groups it visits, then leaves each due at its
-- next possible end (lifecycle.NextSessionEnd of its least recently
-- active open session), or removes it once none of its sessions is open.
-- A message never writes it: it only moves a session's end later.
CREATE TABLE session_groups (
	workspace  text COLLATE "C" NOT NULL,
	bot_id     text COLLATE "C" NOT NULL,
	channel    text COLLATE "C" NOT NULL,
	address    text COLLATE "C" NOT NULL,
	activation bigint NOT NULL,
	due        bigint NOT NULL,
	PRIMARY KEY (workspace, bot_id, channel, address, activation)
);
CREATE INDEX session_groups_due ON session_groups (workspace, due);
INSERT INTO session_groups
	SELECT DISTINCT workspace, bot_id, channel, address, activation, -9223372036854775808 FROM sessions WHERE closed_at IS NULL;

-- botlife_hold_group keeps the group of a session being opened in
-- session_groups until the opening commits: a shared lock on its row, which
-- a sweep removing the row waits for (and a sweep holding the row makes the
-- opening wait, then add the row again if the sweep removed it). Openings
-- in one group share the lock. It returns true.
CREATE FUNCTION botlife_hold_group(_ws text, _bot text, _channel text, _address text, _activation bigint)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	LOOP
		PERFORM 1 FROM session_groups
			WHERE (workspace, bot_id, channel, address, activation) = (_ws, _bot, _channel, _address, _activation) FOR KEY SHARE;
		IF FOUND THEN
			RETURN true;
		END IF;
		INSERT INTO session_groups VALUES (_ws, _bot, _channel, _address, _activation, -9223372036854775808) ON CONFLICT DO NOTHING;
		IF FOUND THEN
			RETURN true;
		END IF;
	END LOOP;
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
	UPDATE workspace_heads SET seq = seq + 1 WHERE workspace = _ws AND head = 'session' RETURNING seq INTO _id;
	IF NOT FOUND THEN -- the workspace's first session
		INSERT INTO workspace_heads AS h VALUES (_ws, 'session', 1)
			ON CONFLICT (workspace, head) DO UPDATE SET seq = h.seq + EXCLUDED.seq RETURNING seq INTO _id;
	END IF;
	INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages, activity_floor)
		VALUES (_ws, _id, _channel, _address, _end_user, _bot, _activation, _at, _at, 1, botlife_activity_floor(_at, _idle));
	PERFORM botlife_hold_group(_ws, _bot, _channel, _address, _activation);
	PERFORM set_config('synchronous_commit', CASE current_setting('synchronous_commit') WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, true);
	RETURN _id;
END
$$;
