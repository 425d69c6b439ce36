-- botlife schema, version 15: a sweep visits every open session again,
-- whatever an earlier version left during a rolling upgrade.
--
-- A process of a version before 6, still running during a rolling upgrade
-- to version 6, opened sessions that knew no activity_floor and left it
-- NULL; open_sessions_due holds only the open sessions with one, so no
-- sweep closed them and Bot.OpenActivations left them out, for good. Each
-- gets its last activity, a floor that is at most it, as version 6 gave
-- the sessions open then (TestMigrateFloorsSessionsAnEarlierVersionOpened;
-- version 14 gave them their groups).
UPDATE sessions SET activity_floor = last_activity_at WHERE closed_at IS NULL AND activity_floor IS NULL;

-- A process of a version before 11, still running during a rolling
-- upgrade to version 11, changed bots without making their groups due
-- (version 12's trigger came later): a group a sweep had left due late, or
-- never, kept that due after a change that ended its sessions sooner (a
-- deactivation without grace). Every group is due at once: the next sweep
-- visits each and leaves it due at its next possible end
-- (TestMigrateSweepsGroupsAnEarlierVersionLeftStale).
UPDATE session_groups SET due = -9223372036854775808 WHERE due > -9223372036854775808;
