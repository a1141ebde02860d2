package forms

import "embed"

// Migrations holds the form service's tables: postgres/NNNN_x.sql and
// sqlite/NNNN_x.sql, run by sqldb.DB.Migrate.
//
//go:embed migrations
var migrations embed.FS
