-- botlife schema, version 1.
--
-- Text is stored as TEXT bound from Go strings: SQLite keeps the bytes as
-- given (invalid UTF-8 and NUL included) and compares them with memcmp, as
-- Go compares strings. Times are Unix nanoseconds (INTEGER), so deadlines
-- compare exactly as on the injected clock; NULL is the zero time. Bots and
-- audit entries are kept whole in doc/entry (see codec.go); the other
-- columns are copies for indexes and for lifecycle.SessionEnd.

CREATE TABLE bots (
	id             TEXT    NOT NULL PRIMARY KEY,
	state          INTEGER NOT NULL,
	revision       INTEGER NOT NULL,
	activations    INTEGER NOT NULL,
	idle_timeout   INTEGER NOT NULL, -- nanoseconds
	grace_deadline INTEGER,          -- while Deactivated
	ended_at       INTEGER,
	end_reason     TEXT    NOT NULL,
	doc            BLOB    NOT NULL
) STRICT, WITHOUT ROWID;
-- DueDrains: the Deactivated bots by deadline.
CREATE INDEX bots_due_drains ON bots (grace_deadline, id) WHERE state = 3;

-- One row per (bot, sender), carrying the bot's state, so that the database
-- itself enforces R1 and R2 with partial unique indexes.
CREATE TABLE bot_senders (
	bot_id  TEXT    NOT NULL,
	channel TEXT    NOT NULL,
	address TEXT    NOT NULL,
	state   INTEGER NOT NULL,
	-- left_at is the bot's DeactivatedAt while it is not Active and was
	-- activated before: what LastActive (R20) orders by.
	left_at INTEGER,
	PRIMARY KEY (bot_id, channel, address)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX one_active_bot_per_sender      ON bot_senders (channel, address) WHERE state = 2; -- R1
CREATE UNIQUE INDEX one_deactivated_bot_per_sender ON bot_senders (channel, address) WHERE state = 3; -- R2
-- LiveBots: the Active and Deactivated bots of a sender.
CREATE INDEX bot_senders_by_state ON bot_senders (channel, address, state);
-- LastActive: the bot that left Active last on a sender, without visiting
-- the others that ever used it.
CREATE INDEX bot_senders_by_left ON bot_senders (channel, address, left_at DESC, bot_id) WHERE left_at IS NOT NULL;

CREATE TABLE role_assignments (
	user_id TEXT    NOT NULL PRIMARY KEY,
	roles   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- The audit log. Commits are serialised by SQLite's write lock, so
-- max(seq) + 1 is gap-free.
CREATE TABLE audit_log (
	seq   INTEGER PRIMARY KEY,
	entry BLOB    NOT NULL
) STRICT;

CREATE TABLE sessions (
	id               INTEGER PRIMARY KEY, -- assigned in order: 1, 2, 3, ...
	channel          TEXT    NOT NULL,
	address          TEXT    NOT NULL,
	end_user         TEXT    NOT NULL,
	bot_id           TEXT    NOT NULL,
	activation       INTEGER NOT NULL,
	opened_at        INTEGER NOT NULL,
	last_activity_at INTEGER NOT NULL,
	closed_at        INTEGER,
	close_reason     TEXT    NOT NULL DEFAULT '',
	messages         INTEGER NOT NULL
) STRICT;
-- Route: the end user's open session on a sender.
CREATE UNIQUE INDEX one_open_session ON sessions (channel, address, end_user) WHERE closed_at IS NULL;
-- SweepSessions: the open sessions of each activation of a bot on a
-- sender, least recently active first.
CREATE INDEX open_sessions_by_group ON sessions (bot_id, channel, address, activation, last_activity_at, id) WHERE closed_at IS NULL;

-- SessionStats, kept by triggers so that reading them costs the number of
-- (bot, sender) pairs, not the number of sessions ever opened.
CREATE TABLE session_stats (
	bot_id   TEXT    NOT NULL,
	channel  TEXT    NOT NULL,
	address  TEXT    NOT NULL,
	opened   INTEGER NOT NULL,
	open     INTEGER NOT NULL,
	messages INTEGER NOT NULL,
	PRIMARY KEY (bot_id, channel, address)
) STRICT, WITHOUT ROWID;
-- SweepSessions: the (bot, sender) pairs with open sessions, without the
-- pairs whose sessions all closed long ago.
CREATE INDEX session_stats_open ON session_stats (bot_id, channel, address) WHERE open > 0;
CREATE TABLE session_closed (
	bot_id  TEXT    NOT NULL,
	channel TEXT    NOT NULL,
	address TEXT    NOT NULL,
	reason  TEXT    NOT NULL,
	n       INTEGER NOT NULL,
	PRIMARY KEY (bot_id, channel, address, reason)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER session_opened AFTER INSERT ON sessions BEGIN
	INSERT INTO session_stats (bot_id, channel, address, opened, open, messages)
	VALUES (new.bot_id, new.channel, new.address, 1, new.closed_at IS NULL, new.messages)
	ON CONFLICT (bot_id, channel, address) DO UPDATE
	SET opened = opened + 1, open = open + excluded.open, messages = messages + excluded.messages;
END;

CREATE TRIGGER session_messages AFTER UPDATE OF messages ON sessions WHEN new.messages <> old.messages BEGIN
	UPDATE session_stats SET messages = messages + new.messages - old.messages
	WHERE bot_id = new.bot_id AND channel = new.channel AND address = new.address;
END;

CREATE TRIGGER session_closing AFTER UPDATE OF closed_at ON sessions
WHEN old.closed_at IS NULL AND new.closed_at IS NOT NULL BEGIN
	UPDATE session_stats SET open = open - 1
	WHERE bot_id = new.bot_id AND channel = new.channel AND address = new.address;
	INSERT INTO session_closed (bot_id, channel, address, reason, n)
	VALUES (new.bot_id, new.channel, new.address, new.close_reason, 1)
	ON CONFLICT (bot_id, channel, address, reason) DO UPDATE SET n = n + 1;
END;
