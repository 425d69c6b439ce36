-- botlife schema, version 1. Text compares bytewise (COLLATE "C"), as Go does. Times are Unix nanoseconds (bigint) so that
-- they compare exactly as Go's time.Time does; NULL is the zero time.

CREATE TABLE bots (
	id             text COLLATE "C" PRIMARY KEY,
	state          smallint NOT NULL,
	revision       bigint   NOT NULL,
	activations    bigint   NOT NULL,
	grace_deadline bigint,            -- while Deactivated
	idle_timeout   bigint   NOT NULL, -- nanoseconds
	doc            jsonb    NOT NULL  -- the whole lifecycle.Bot; the columns above are copies for queries
);
CREATE INDEX bots_due_drains ON bots (grace_deadline, id) WHERE state = 3;

-- One row per (bot, sender), carrying the bot's state so that the database
-- itself enforces R1 and R2.
CREATE TABLE bot_senders (
	bot_id  text COLLATE "C" NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
	channel text COLLATE "C" NOT NULL,
	address text COLLATE "C" NOT NULL,
	state   smallint NOT NULL,
	PRIMARY KEY (bot_id, channel, address)
);
CREATE INDEX bot_senders_by_sender ON bot_senders (channel, address);
CREATE UNIQUE INDEX one_active_bot_per_sender      ON bot_senders (channel, address) WHERE state = 2; -- R1
CREATE UNIQUE INDEX one_deactivated_bot_per_sender ON bot_senders (channel, address) WHERE state = 3; -- R2

CREATE TABLE role_assignments (
	user_id text COLLATE "C" PRIMARY KEY,
	roles   smallint NOT NULL
);

-- The audit log. audit_head holds the last sequence number; every commit
-- takes its row lock first, which orders commits and keeps Seq gap-free.
CREATE TABLE audit_head (
	one boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq bigint  NOT NULL
);
INSERT INTO audit_head (seq) VALUES (0);
CREATE TABLE audit_log (
	seq   bigint PRIMARY KEY,
	entry jsonb  NOT NULL
);

CREATE TABLE sessions (
	id               bigserial PRIMARY KEY,
	channel          text COLLATE "C" NOT NULL,
	address          text COLLATE "C" NOT NULL,
	end_user         text COLLATE "C" NOT NULL,
	bot_id           text COLLATE "C" NOT NULL,
	activation       bigint NOT NULL,
	opened_at        bigint NOT NULL,
	last_activity_at bigint NOT NULL,
	closed_at        bigint,
	close_reason     text   NOT NULL DEFAULT '',
	messages         bigint NOT NULL
);
CREATE UNIQUE INDEX one_open_session ON sessions (channel, address, end_user) WHERE closed_at IS NULL;
CREATE INDEX open_sessions_by_bot ON sessions (bot_id, last_activity_at) WHERE closed_at IS NULL;
CREATE INDEX sessions_by_bot ON sessions (bot_id, channel, address);
