-- botlife schema, version 9: the Admins of a workspace through an index
-- of their own (P2). Every operation reads how many Admins the workspace
-- has (Store.Roles), and every role change checks that one stays; without
-- it each read walked every user holding a role in the workspace. The
-- clause is the store's adminWhere, with roles.Admin's bit written out
-- (TestAdminBit): a bound bit would keep the planner from a partial index.
CREATE INDEX role_admins ON role_assignments (workspace) WHERE roles & 32 <> 0;
