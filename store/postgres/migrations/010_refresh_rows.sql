-- botlife schema, version 10: the tables of version 9. Every bot's rows in
-- bot_senders are rewritten from its document, as this version's core
-- computes them (lifecycle.Change.Rows): left_at for a bot that left a
-- sender while Active on another (R20 with R22), and the departure rows
-- that keep, on a virtual sender of the '(test)' channel, when a bot left
-- Active on a sender it no longer names (R20). Rows written before kept
-- the old facts until their bot was next written.
-- botlife: refresh rows
SELECT 1
