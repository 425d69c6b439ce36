-- botlife schema, version 7: triggers keep session_groups whatever process
-- writes, one of a version before 6 included (during a rolling upgrade it
-- still runs on the file another process migrated, and knows no
-- session_groups): a session inserted open holds its group, added due at
-- once if it has no row; a bot updated or deleted makes its groups due at
-- once, as a commit must (its rows may end their sessions sooner). An
-- opening still lowers its group's due where its session ends sooner (the
-- clock stepped back), in Go (holdGroup).
CREATE TRIGGER session_group AFTER INSERT ON sessions WHEN new.closed_at IS NULL BEGIN
	INSERT OR IGNORE INTO session_groups (workspace, bot_id, channel, address, activation, due)
	VALUES (new.workspace, new.bot_id, new.channel, new.address, new.activation, -9223372036854775808);
END;
CREATE TRIGGER bot_groups_due_updated AFTER UPDATE ON bots BEGIN
	UPDATE session_groups SET due = -9223372036854775808
	WHERE workspace = old.workspace AND bot_id = old.id AND due > -9223372036854775808;
END;
CREATE TRIGGER bot_groups_due_deleted AFTER DELETE ON bots BEGIN
	UPDATE session_groups SET due = -9223372036854775808
	WHERE workspace = old.workspace AND bot_id = old.id AND due > -9223372036854775808;
END;
-- A group whose sessions a process of a version before 6 opened since
-- version 6 was applied has no row: it gets one, due at once.
INSERT OR IGNORE INTO session_groups
	SELECT DISTINCT workspace, bot_id, channel, address, activation, -9223372036854775808 FROM sessions WHERE closed_at IS NULL;
