-- botlife schema, version 6: session_groups lists each group of open
-- sessions (one activation of one bot on one sender) with due, the instant
-- (unix nanoseconds) before which none of its sessions can be over, so
-- that SweepSessions visits the groups that are due, never every group.
-- A session opening in a group with no row adds one due at once; a commit
-- of a bot makes its groups due at once; a sweep leaves a group due at its
-- next possible end (lifecycle.NextSessionEnd of its least recently active
-- open session), or removes it once none of its sessions is open. A
-- message never writes it: it only moves a session's end later.
CREATE TABLE session_groups (
	workspace  TEXT    NOT NULL,
	bot_id     TEXT    NOT NULL,
	channel    TEXT    NOT NULL,
	address    TEXT    NOT NULL,
	activation INTEGER NOT NULL,
	due        INTEGER NOT NULL,
	PRIMARY KEY (workspace, bot_id, channel, address, activation)
) STRICT, WITHOUT ROWID;
CREATE INDEX session_groups_due ON session_groups (workspace, due);
INSERT INTO session_groups
	SELECT DISTINCT workspace, bot_id, channel, address, activation, -9223372036854775808 FROM sessions WHERE closed_at IS NULL;
