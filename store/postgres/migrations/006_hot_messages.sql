-- botlife schema, version 6: a message on an open session is a heap-only
-- (HOT) update (issue 25). Before, every message changed last_activity_at,
-- a column of open_sessions_due, so PostgreSQL wrote a new entry in each of
-- the three indexes of sessions per message.
--
-- activity_floor is last_activity_at rounded down to a step of the bot's
-- idle_timeout / 16 (the smallest bigint when the bot closes no session for
-- idleness): at most last_activity_at, whatever the step was when it was
-- written. open_sessions_due indexes it instead of the exact time, so most
-- messages change no indexed column; the sweep takes the candidates whose
-- floor is due and checks the exact time. It reads, beyond what is due,
-- the sessions that become due within the next idle_timeout / 16.
CREATE FUNCTION botlife_activity_floor(at bigint, idle_timeout bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT CASE
		WHEN idle_timeout <= 0 OR at < -9223372036854775808 + greatest(idle_timeout / 16, 1) THEN -9223372036854775808
		ELSE at - (at % greatest(idle_timeout / 16, 1) + greatest(idle_timeout / 16, 1)) % greatest(idle_timeout / 16, 1)
	END
$$;

ALTER TABLE sessions ADD COLUMN activity_floor bigint;
UPDATE sessions SET activity_floor = last_activity_at WHERE closed_at IS NULL;
DROP INDEX open_sessions_due;
-- Its predicate names activity_floor (set on every open session) so that
-- only the queries that say so read it: a lookup by sender and end user,
-- which names neither bot nor floor, cannot scan it for all the sender's
-- sessions, as PostgreSQL did on a table without statistics (it is smaller
-- than one_open_session), for most of the cost of a message.
CREATE INDEX open_sessions_due ON sessions (bot_id, channel, address, activation, activity_floor)
	WHERE closed_at IS NULL AND activity_floor IS NOT NULL;

-- Room on every page for the new version of a row, so that an update stays
-- on its page (rows written before keep their pages until they move).
ALTER TABLE sessions SET (fillfactor = 90);

