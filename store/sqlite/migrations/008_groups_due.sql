-- botlife schema, version 8: every group of open sessions is due at once.
-- A process of a version before 6, still running during a rolling upgrade
-- to version 6, changed bots without making their groups due (version 7's
-- triggers came later): a group a sweep had left due late, or never, kept
-- that due after a change that ended its sessions sooner (a deactivation
-- without grace), and no sweep closed them. The next sweep visits each
-- group and leaves it due at its next possible end
-- (TestMigrateSweepsGroupsAnEarlierVersionLeftStale).
UPDATE session_groups SET due = -9223372036854775808 WHERE due > -9223372036854775808
