-- botlife schema, version 4: workspaces (R27). Every row is keyed by its
-- workspace ('' is the default one), first in every primary key, unique
-- index and lookup index, so that a read or a uniqueness check of one
-- workspace never sees another's. Sequence numbers - audit seq, schedule
-- seq, session id - count per workspace: max + 1 within it, read from the
-- primary key inside the committing transaction.
--
-- SQLite cannot change a primary key in place: each table is rebuilt
-- (create, copy, drop, rename) and its indexes made anew. Every row of
-- version 3 moves into the default workspace. The session triggers name
-- the tables they write, so they go first and come back last.
DROP TRIGGER session_opened;
DROP TRIGGER session_messages;
DROP TRIGGER session_closing;

CREATE TABLE bots_v4 (
	workspace    TEXT    NOT NULL,
	id           TEXT    NOT NULL,
	revision     INTEGER NOT NULL,
	idle_timeout INTEGER NOT NULL, -- nanoseconds
	due          INTEGER,          -- Change.Due
	doc          BLOB    NOT NULL,
	PRIMARY KEY (workspace, id)
) STRICT, WITHOUT ROWID;
INSERT INTO bots_v4 SELECT '', id, revision, idle_timeout, due, doc FROM bots;
DROP TABLE bots;
ALTER TABLE bots_v4 RENAME TO bots;
CREATE INDEX bots_due ON bots (workspace, due, id) WHERE due IS NOT NULL;

CREATE TABLE bot_senders_v4 (
	workspace    TEXT    NOT NULL,
	bot_id       TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	address      TEXT    NOT NULL,
	slot         TEXT,
	activation   INTEGER NOT NULL,
	serves_until INTEGER,
	left_active  INTEGER,
	PRIMARY KEY (workspace, bot_id, channel, address)
) STRICT, WITHOUT ROWID;
INSERT INTO bot_senders_v4 SELECT '', bot_id, channel, address, slot, activation, serves_until, left_active FROM bot_senders;
DROP TABLE bot_senders;
ALTER TABLE bot_senders_v4 RENAME TO bot_senders;
CREATE UNIQUE INDEX one_active_slot_per_sender   ON bot_senders (workspace, channel, address) WHERE slot = 'active';   -- R1
CREATE UNIQUE INDEX one_draining_slot_per_sender ON bot_senders (workspace, channel, address) WHERE slot = 'draining'; -- R2
CREATE INDEX bot_senders_by_slot ON bot_senders (workspace, channel, address) WHERE slot IS NOT NULL;
CREATE INDEX bot_senders_by_left ON bot_senders (workspace, channel, address, left_active DESC, bot_id) WHERE left_active IS NOT NULL;

-- sender_claims: which workspace the bots naming a real sender belong to,
-- and how many of them name it (R27). Its primary key is the sender alone,
-- so two workspaces cannot both hold it, from any process. The triggers on
-- bot_senders keep it: a row of a real sender (not on the '(test)'
-- channel, lifecycle.TestChannel) counts one, refused with the message
-- 'sender claimed' when another workspace holds the sender; the claim goes
-- when its count reaches 0.
CREATE TABLE sender_claims (
	channel   TEXT    NOT NULL,
	address   TEXT    NOT NULL,
	workspace TEXT    NOT NULL,
	bots      INTEGER NOT NULL,
	PRIMARY KEY (channel, address)
) STRICT, WITHOUT ROWID;
INSERT INTO sender_claims SELECT channel, address, '', count(*) FROM bot_senders WHERE channel <> '(test)' GROUP BY channel, address;
CREATE TRIGGER sender_claimed AFTER INSERT ON bot_senders WHEN new.channel <> '(test)' BEGIN
	SELECT RAISE(ABORT, 'sender claimed') FROM sender_claims
	WHERE channel = new.channel AND address = new.address AND workspace <> new.workspace;
	INSERT INTO sender_claims (channel, address, workspace, bots) VALUES (new.channel, new.address, new.workspace, 1)
	ON CONFLICT (channel, address) DO UPDATE SET bots = bots + 1;
END;
CREATE TRIGGER sender_released AFTER DELETE ON bot_senders WHEN old.channel <> '(test)' BEGIN
	UPDATE sender_claims SET bots = bots - 1 WHERE channel = old.channel AND address = old.address;
	DELETE FROM sender_claims WHERE channel = old.channel AND address = old.address AND bots <= 0;
END;

CREATE TABLE role_assignments_v4 (
	workspace TEXT    NOT NULL,
	user_id   TEXT    NOT NULL,
	roles     INTEGER NOT NULL,
	PRIMARY KEY (workspace, user_id)
) STRICT, WITHOUT ROWID;
INSERT INTO role_assignments_v4 SELECT '', user_id, roles FROM role_assignments;
DROP TABLE role_assignments;
ALTER TABLE role_assignments_v4 RENAME TO role_assignments;
-- The Admins of a workspace (P2). 32 is roles.MustSet(roles.Admin) (TestAdminBit).
CREATE INDEX role_admins ON role_assignments (workspace, user_id) WHERE roles & 32 <> 0;

CREATE TABLE audit_log_v4 (
	workspace TEXT    NOT NULL,
	seq       INTEGER NOT NULL,
	entry     BLOB    NOT NULL,
	PRIMARY KEY (workspace, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO audit_log_v4 SELECT '', seq, entry FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_v4 RENAME TO audit_log;

CREATE TABLE schedules_v4 (
	workspace TEXT    NOT NULL,
	id        TEXT    NOT NULL,
	seq       INTEGER NOT NULL,
	at        INTEGER NOT NULL,
	status    TEXT    NOT NULL,
	revision  INTEGER NOT NULL,
	doc       BLOB    NOT NULL,
	PRIMARY KEY (workspace, id),
	UNIQUE (workspace, seq)
) STRICT, WITHOUT ROWID;
INSERT INTO schedules_v4 SELECT '', id, seq, at, status, revision, doc FROM schedules;
DROP TABLE schedules;
ALTER TABLE schedules_v4 RENAME TO schedules;
CREATE INDEX schedules_due ON schedules (workspace, at, seq) WHERE status = 'pending';

CREATE TABLE sessions_v4 (
	workspace        TEXT    NOT NULL,
	id               INTEGER NOT NULL, -- per workspace: 1, 2, 3, ...
	channel          TEXT    NOT NULL,
	address          TEXT    NOT NULL,
	end_user         TEXT    NOT NULL,
	bot_id           TEXT    NOT NULL,
	activation       INTEGER NOT NULL,
	opened_at        INTEGER NOT NULL,
	last_activity_at INTEGER NOT NULL,
	closed_at        INTEGER,
	close_reason     TEXT    NOT NULL DEFAULT '',
	messages         INTEGER NOT NULL,
	PRIMARY KEY (workspace, id)
) STRICT, WITHOUT ROWID;
INSERT INTO sessions_v4 SELECT '', id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, closed_at, close_reason, messages FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v4 RENAME TO sessions;
CREATE UNIQUE INDEX one_open_session ON sessions (workspace, channel, address, end_user) WHERE closed_at IS NULL;
CREATE INDEX open_sessions_by_group ON sessions (workspace, bot_id, channel, address, activation, last_activity_at, id) WHERE closed_at IS NULL;

CREATE TABLE session_stats_v4 (
	workspace TEXT    NOT NULL,
	bot_id    TEXT    NOT NULL,
	channel   TEXT    NOT NULL,
	address   TEXT    NOT NULL,
	opened    INTEGER NOT NULL,
	open      INTEGER NOT NULL,
	messages  INTEGER NOT NULL,
	PRIMARY KEY (workspace, bot_id, channel, address)
) STRICT, WITHOUT ROWID;
INSERT INTO session_stats_v4 SELECT '', bot_id, channel, address, opened, open, messages FROM session_stats;
DROP TABLE session_stats;
ALTER TABLE session_stats_v4 RENAME TO session_stats;

CREATE TABLE session_closed_v4 (
	workspace TEXT    NOT NULL,
	bot_id    TEXT    NOT NULL,
	channel   TEXT    NOT NULL,
	address   TEXT    NOT NULL,
	reason    TEXT    NOT NULL,
	n         INTEGER NOT NULL,
	PRIMARY KEY (workspace, bot_id, channel, address, reason)
) STRICT, WITHOUT ROWID;
INSERT INTO session_closed_v4 SELECT '', bot_id, channel, address, reason, n FROM session_closed;
DROP TABLE session_closed;
ALTER TABLE session_closed_v4 RENAME TO session_closed;

CREATE TRIGGER session_opened AFTER INSERT ON sessions BEGIN
	INSERT INTO session_stats (workspace, bot_id, channel, address, opened, open, messages)
	VALUES (new.workspace, new.bot_id, new.channel, new.address, 1, new.closed_at IS NULL, new.messages)
	ON CONFLICT (workspace, bot_id, channel, address) DO UPDATE
	SET opened = opened + 1, open = open + excluded.open, messages = messages + excluded.messages;
END;
CREATE TRIGGER session_messages AFTER UPDATE OF messages ON sessions WHEN new.messages <> old.messages BEGIN
	UPDATE session_stats SET messages = messages + new.messages - old.messages
	WHERE workspace = new.workspace AND bot_id = new.bot_id AND channel = new.channel AND address = new.address;
END;
CREATE TRIGGER session_closing AFTER UPDATE OF closed_at ON sessions
WHEN old.closed_at IS NULL AND new.closed_at IS NOT NULL BEGIN
	UPDATE session_stats SET open = open - 1
	WHERE workspace = new.workspace AND bot_id = new.bot_id AND channel = new.channel AND address = new.address;
	INSERT INTO session_closed (workspace, bot_id, channel, address, reason, n)
	VALUES (new.workspace, new.bot_id, new.channel, new.address, new.close_reason, 1)
	ON CONFLICT (workspace, bot_id, channel, address, reason) DO UPDATE SET n = n + 1;
END;
