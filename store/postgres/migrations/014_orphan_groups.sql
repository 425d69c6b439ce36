-- botlife schema, version 14: every open session has its group in
-- session_groups, whoever opened it. Between version 11 (session_groups)
-- and version 12 (the trigger session_group), a process of a version
-- before 11 still running during a rolling upgrade inserted sessions that
-- knew no session_groups; version 12 kept later ones but gave those no
-- row, so no sweep visited them: they stayed recorded open, and their
-- activations in Bot.OpenActivations, for good. Each such group gets one,
-- due at once (TestMigrateFromEveryVersion). store/sqlite's version 7 does
-- the same for its own version 6.
INSERT INTO session_groups
	SELECT DISTINCT workspace, bot_id, channel, address, activation, -9223372036854775808 FROM sessions WHERE closed_at IS NULL
	ON CONFLICT DO NOTHING;
