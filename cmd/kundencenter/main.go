// Command kundencenter runs the cantonal customer centre: the OpenID
// provider and the bundled services (forms, status, documents).
//
//	kundencenter serve              everything in one process, embedded storage (SQLite, in-process state, dev outbox)
//	kundencenter idp                the OpenID provider in production mode (PostgreSQL, Redis, SMTP)
//	kundencenter status|forms|documents   one relying-party service (production)
//	kundencenter migrate            run the database migrations (production)
//	kundencenter admin …            clients, signing keys, key ring
//	kundencenter backoffice cases … the demo back office: create cases, change their status
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	goredis "github.com/redis/go-redis/v9"
)

const usage = `usage: kundencenter <command> [flags]

commands:
  serve       run everything in one process on embedded storage (the README's run command)
  idp         run the OpenID provider (production: KC_DATABASE_URL, KC_REDIS_URL, KC_KEYRING, …)
  forms       run the form service (production)
  status      run the status service "Meine Vorgänge" (production)
  documents   run the document service "Meine Dokumente" (production)
  migrate     apply the database migrations to KC_DATABASE_URL
  admin       clients, signing keys, key ring (kundencenter admin help)
  backoffice  drive the status API as the demo back office (kundencenter backoffice cases …)
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cfg := loadConfig()
	log := newLogger(cfg.LogLevel)
	slog.SetDefault(log) // zitadel/oidc logs through the default logger
	goredis.SetLogger(redisLogger{log.With("component", "redis")})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "serve":
		err = runServe(ctx, cfg, log, args)
	case "idp":
		err = runIdP(ctx, cfg, log, args)
	case "forms", "status", "documents":
		err = runService(ctx, cmd, cfg, log, args)
	case "migrate":
		err = runMigrate(ctx, cfg)
	case "admin":
		err = runAdmin(ctx, cfg, args)
	case "backoffice":
		err = runBackoffice(ctx, args, os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kundencenter:", err)
		os.Exit(1)
	}
}

// redisLogger sends go-redis's own messages (reconnects, pool errors) to slog.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.WarnContext(ctx, fmt.Sprintf(format, v...))
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
