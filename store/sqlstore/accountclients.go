package sqlstore

import (
	"context"
	"fmt"

	"github.com/kanton/kundencenter/idp"
	"github.com/kanton/kundencenter/store/sqldb"
)

// accountClientsSQL selects the clients an account has used: logged in to
// (account_clients) or holding a refresh token of.
const accountClientsSQL = `SELECT client_id FROM account_clients WHERE account_id = ?
	UNION SELECT client_id FROM refresh_tokens WHERE account_id = ? ORDER BY client_id`

func accountClients(ctx context.Context, q querier, accountID string) ([]string, error) {
	rows, err := q.Query(ctx, accountClientsSQL, accountID, accountID)
	out, err := collect(rows, err, func(r scanner) (id string, err error) { return id, r.Scan(&id) })
	if err != nil {
		return nil, fmt.Errorf("account clients: %w", err)
	}
	return out, nil
}

// AccountClients returns the clients the account has used, ordered.
func (s *Store) AccountClients(ctx context.Context, accountID string) ([]string, error) {
	return accountClients(ctx, s.db, accountID)
}

// UpdateAccountTellClients locks the account, reads its clients and
// applies fn as UpdateAccount does, in one transaction.
func (s *Store) UpdateAccountTellClients(ctx context.Context, id string,
	fn func(idp.Account, []string) (idp.Account, []idp.Outgoing, error),
) (idp.Account, error) {
	var a idp.Account
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		var err error
		// applyToAccount locks the account before it calls this: the
		// clients are read under that lock.
		a, err = s.applyToAccount(ctx, tx, id, func(a idp.Account) (idp.Account, []idp.Outgoing, error) {
			clients, err := accountClients(ctx, tx, id)
			if err != nil {
				return a, nil, err
			}
			return fn(a, clients)
		})
		return err
	})
	if err != nil {
		return idp.Account{}, fmt.Errorf("update account: %w", err)
	}
	return a, nil
}
