-- The rules an account deletion applies (representations ended, pending
-- invitations revoked, the last admin's organisations handed over) move
-- from triggers (0006, 0011, 0013) into the store's transaction, where they
-- use the application's clock (store/sqlstore/deletion.go). The
-- append-only triggers of the histories stay.

DROP TRIGGER IF EXISTS accounts_end_representations;
DROP TRIGGER IF EXISTS accounts_hand_over_org_admin;
DROP TRIGGER IF EXISTS accounts_revoke_invitations;
