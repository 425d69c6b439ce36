-- botlife schema, version 3: rows, not rules. The store keeps the rows the
-- core computes for a bot (lifecycle.Change.Rows, Change.Due) and compares
-- them; it no longer keeps a bot's state, nor works anything out of it.
--
-- bot_senders: one row per bot and sender (lifecycle.SenderRow). slot is
-- 'active', 'draining' or NULL (off there); serves_until is the drain's
-- deadline on that sender; left_active is when the bot last left Active
-- (R20). Version 2 kept the bot's state on the sender as a number; this
-- is the last time it is read, to give the existing rows their slots.
ALTER TABLE bot_senders ADD COLUMN slot TEXT;
UPDATE bot_senders SET slot = CASE state WHEN 2 THEN 'active' WHEN 3 THEN 'draining' END;
DROP INDEX one_active_bot_per_sender;
DROP INDEX one_deactivated_bot_per_sender;
DROP INDEX bot_senders_by_state;
DROP INDEX bot_senders_by_left;
ALTER TABLE bot_senders DROP COLUMN state;
ALTER TABLE bot_senders RENAME COLUMN grace_deadline TO serves_until;
ALTER TABLE bot_senders RENAME COLUMN left_at TO left_active;
CREATE UNIQUE INDEX one_active_slot_per_sender   ON bot_senders (channel, address) WHERE slot = 'active';   -- R1
CREATE UNIQUE INDEX one_draining_slot_per_sender ON bot_senders (channel, address) WHERE slot = 'draining'; -- R2
-- SenderBots: the bots holding a slot on a sender, and the one with the
-- latest left_active, without visiting the others that ever used it.
CREATE INDEX bot_senders_by_slot ON bot_senders (channel, address) WHERE slot IS NOT NULL;
CREATE INDEX bot_senders_by_left ON bot_senders (channel, address, left_active DESC, bot_id) WHERE left_active IS NOT NULL;

-- bots: the document, the revision Commit compares, the idle timeout the
-- session reads compare, and due (Change.Due: when ExpireDue must look at
-- the bot), indexed for Store.Due.
DROP INDEX bots_by_grace_deadline;
ALTER TABLE bots DROP COLUMN state;
ALTER TABLE bots DROP COLUMN activations;
ALTER TABLE bots DROP COLUMN ended_at;
ALTER TABLE bots DROP COLUMN end_reason;
ALTER TABLE bots RENAME COLUMN grace_deadline TO due;
CREATE INDEX bots_due ON bots (due, id) WHERE due IS NOT NULL;

-- Roles: how many users hold Admin (P2), from an index on them, not a
-- scan of every user. 32 is roles.MustSet(roles.Admin) (TestAdminBit).
CREATE INDEX role_admins ON role_assignments (user_id) WHERE roles & 32 <> 0;
