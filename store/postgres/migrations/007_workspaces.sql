-- botlife schema, version 7: workspaces (R27). One database holds many
-- workspaces (customer accounts); every row belongs to one, and every key,
-- index and uniqueness check leads with it. What version 6 stored is in the
-- default workspace, ''.
ALTER TABLE bots             ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE bot_senders      ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE role_assignments ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE audit_log        ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE schedules        ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE sessions         ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE session_stats    ADD COLUMN workspace text COLLATE "C" NOT NULL DEFAULT '';

ALTER TABLE bot_senders DROP CONSTRAINT bot_senders_bot_id_fkey, DROP CONSTRAINT bot_senders_pkey;
ALTER TABLE bots DROP CONSTRAINT bots_pkey, ADD PRIMARY KEY (workspace, id);
ALTER TABLE bot_senders ADD PRIMARY KEY (workspace, bot_id, channel, address),
	ADD FOREIGN KEY (workspace, bot_id) REFERENCES bots (workspace, id) ON DELETE CASCADE;
DROP INDEX bots_due_drains, one_bot_per_slot, bot_senders_last_active;
CREATE INDEX bots_due_drains ON bots (workspace, due_at, id) WHERE due_at IS NOT NULL;
CREATE UNIQUE INDEX one_bot_per_slot ON bot_senders (workspace, channel, address, slot) WHERE slot IS NOT NULL; -- R1, R2
CREATE INDEX bot_senders_last_active ON bot_senders (workspace, channel, address, left_at DESC, bot_id) WHERE left_at IS NOT NULL;

ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_pkey, ADD PRIMARY KEY (workspace, user_id);
ALTER TABLE audit_log DROP CONSTRAINT audit_log_pkey, ADD PRIMARY KEY (workspace, seq);
ALTER TABLE schedules DROP CONSTRAINT schedules_pkey, DROP CONSTRAINT schedules_seq_key,
	ADD PRIMARY KEY (workspace, id), ADD UNIQUE (workspace, seq);
DROP INDEX pending_schedules;
CREATE INDEX pending_schedules ON schedules (workspace, at, seq) WHERE status = 'pending';

-- Session ids count per workspace (workspace_heads), no longer from one
-- sequence.
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (workspace, id), ALTER COLUMN id DROP DEFAULT;
DROP SEQUENCE sessions_id_seq;
DROP INDEX one_open_session, open_sessions_due;
-- The workspace comes last here: a lookup of an open session by its id
-- must not find that it can scan the workspace's open sessions through this
-- index, as a generic plan did when it led.
CREATE UNIQUE INDEX one_open_session ON sessions (channel, address, end_user, workspace) WHERE closed_at IS NULL;
CREATE INDEX open_sessions_due ON sessions (workspace, bot_id, channel, address, activation, activity_floor)
	WHERE closed_at IS NULL AND activity_floor IS NOT NULL;

ALTER TABLE session_stats DROP CONSTRAINT session_stats_pkey, ADD PRIMARY KEY (workspace, bot_id, channel, address, open, reason, shard);
CREATE OR REPLACE FUNCTION botlife_session_stats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.closed_at IS NULL AND OLD.closed_at IS NULL THEN -- a message: one counter row
		UPDATE session_stats SET messages = messages + NEW.messages - OLD.messages
		WHERE (workspace, bot_id, channel, address, open, reason, shard) = (NEW.workspace, NEW.bot_id, NEW.channel, NEW.address, true, '', NEW.id % 16);
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		INSERT INTO session_stats AS t (workspace, bot_id, channel, address, open, reason, shard, sessions, messages)
		VALUES (OLD.workspace, OLD.bot_id, OLD.channel, OLD.address, OLD.closed_at IS NULL, OLD.close_reason, OLD.id % 16, -1, -OLD.messages)
		ON CONFLICT (workspace, bot_id, channel, address, open, reason, shard)
		DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions, messages = t.messages + EXCLUDED.messages;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		INSERT INTO session_stats AS t (workspace, bot_id, channel, address, open, reason, shard, sessions, messages)
		VALUES (NEW.workspace, NEW.bot_id, NEW.channel, NEW.address, NEW.closed_at IS NULL, NEW.close_reason, NEW.id % 16, 1, NEW.messages)
		ON CONFLICT (workspace, bot_id, channel, address, open, reason, shard)
		DO UPDATE SET sessions = t.sessions + EXCLUDED.sessions, messages = t.messages + EXCLUDED.messages;
	END IF;
	RETURN NULL;
END
$$;

-- The last number each workspace handed out of each sequence: 'audit'
-- (audit entries' Seq), 'schedule' (schedules' Seq) and 'session' (session
-- ids), made by the first use (INSERT ... ON CONFLICT). A writer holds the
-- row's lock until it commits, so numbers are gap-free. One row per head,
-- so that opening a session never waits for a commit's audit lock.
CREATE TABLE workspace_heads (
	workspace text COLLATE "C" NOT NULL,
	head      text COLLATE "C" NOT NULL,
	seq       bigint NOT NULL,
	PRIMARY KEY (workspace, head)
);
INSERT INTO workspace_heads
	SELECT '', 'audit', seq FROM audit_head WHERE seq > 0
	UNION ALL SELECT '', 'schedule', seq FROM schedule_head WHERE seq > 0
	UNION ALL SELECT '', 'session', max(id) FROM sessions HAVING count(*) > 0;
DROP TABLE audit_head, schedule_head;

-- A real sender (not on the test channel, R26) is named by the bots of one
-- workspace at a time: its row holds that workspace and how many of its
-- bots name it, and goes when none does. Commit raises botlife_claimed
-- (SQLSTATE BL423, the sender as a JSON array in DETAIL) for a sender it
-- would add to while another workspace holds it.
CREATE TABLE sender_claims (
	channel   text COLLATE "C" NOT NULL,
	address   text COLLATE "C" NOT NULL,
	workspace text COLLATE "C" NOT NULL,
	bots      bigint NOT NULL,
	PRIMARY KEY (channel, address)
);
INSERT INTO sender_claims SELECT channel, address, '', count(*) FROM bot_senders WHERE channel <> '(test)' GROUP BY 1, 2;
CREATE FUNCTION botlife_claimed(channel text, address text) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'BL423', MESSAGE = 'the sender is claimed by another workspace', DETAIL = json_build_array(channel, address)::text;
END
$$;
