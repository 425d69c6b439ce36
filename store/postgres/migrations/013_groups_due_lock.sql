-- botlife schema, version 13: a bot updated or deleted locks its groups of
-- open sessions (session_groups) before it makes them due, whatever their
-- due. Version 12 wrote only the groups not due yet, so a group due already
-- (new, or made due by an earlier commit) was left unlocked, and a sweep
-- visiting it while the commit was under way - reading the bot as it was,
-- uncommitted change unseen - left it due at its sessions' next end as that
-- bot had them: a change that ended them sooner (a deactivation without
-- grace) went unswept until then, or for good without an idle timeout. The
-- lock makes a sweep skip the group (SKIP LOCKED), or the commit wait for
-- the sweep that holds it and then make it due again.
CREATE OR REPLACE FUNCTION botlife_groups_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM session_groups WHERE workspace = OLD.workspace AND bot_id = OLD.id FOR NO KEY UPDATE;
	UPDATE session_groups SET due = -9223372036854775808
		WHERE workspace = OLD.workspace AND bot_id = OLD.id AND due > -9223372036854775808;
	RETURN NULL;
END
$$;
