// Package servers starts private Redis and PostgreSQL servers for fault
// tests: on their own ports and data directories, so that a test may stop,
// kill, flush or restart them without touching the shared test servers.
//
// Every server is stopped at the test's cleanup. A missing binary fails the
// test (it never skips): redis-server must be on the PATH, initdb, pg_ctl
// and postgres too (or in KC_TEST_PG_BIN). Run as root, PostgreSQL runs as
// the "postgres" system user, because initdb refuses root.
package servers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 30 * time.Second

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("servers: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Redis is a private redis-server.
type Redis struct {
	// Port is the server's TCP port on 127.0.0.1; it stays the same across
	// restarts.
	Port int
	// Dir is the working directory, which holds dump.rdb.
	Dir string
	// URL is redis://127.0.0.1:Port/0.
	URL string

	mu  sync.Mutex
	cmd *exec.Cmd
	log *os.File
}

// StartRedis starts a redis-server on a free port with its own data
// directory. Automatic snapshots are off (save ""); Save writes dump.rdb on
// demand, and Start after Kill loads it, as a production Redis with
// RDB snapshots does after a crash.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("servers: this test needs redis-server on the PATH: %v", err)
	}
	r := &Redis{Port: freePort(t), Dir: t.TempDir()}
	r.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port)
	t.Cleanup(func() { r.stop(syscall.SIGKILL) })
	r.Start(t)
	return r
}

// Start starts the server (again) on its port and directory; it returns
// once the server answers PING, with the snapshot loaded if there is one.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		t.Fatalf("servers: redis on port %d is already running", r.Port)
	}
	log, err := os.OpenFile(filepath.Join(r.Dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatalf("servers: %v", err)
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--dir", r.Dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no", "--daemonize", "no")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("servers: start redis-server: %v", err)
	}
	r.cmd, r.log = cmd, log
	c := r.client()
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(r.Dir, "redis.log"))
			t.Fatalf("servers: redis on port %d did not answer: %v\n%s", r.Port, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *Redis) client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.Port), MaxRetries: -1})
}

// Do runs one command on the server (e.g. "FLUSHALL", "DBSIZE").
func (r *Redis) Do(t testing.TB, args ...any) any {
	t.Helper()
	c := r.client()
	defer c.Close()
	v, err := c.Do(context.Background(), args...).Result()
	if err != nil && !errors.Is(err, goredis.Nil) {
		t.Fatalf("servers: redis %v: %v", args, err)
	}
	return v
}

// Save writes a snapshot (dump.rdb) of the current data now.
func (r *Redis) Save(t testing.TB) {
	t.Helper()
	r.Do(t, "SAVE")
}

// Flush deletes every key (FLUSHALL), as an operator or a failover to an
// empty replica would.
func (r *Redis) Flush(t testing.TB) {
	t.Helper()
	r.Do(t, "FLUSHALL")
}

// Kill ends the server with SIGKILL: nothing is saved, the last snapshot
// (if any) is what a restart finds.
func (r *Redis) Kill(t testing.TB) {
	t.Helper()
	r.stop(syscall.SIGKILL)
}

func (r *Redis) stop(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	_ = r.cmd.Wait()
	r.log.Close()
	r.cmd, r.log = nil, nil
}

// Postgres is a private PostgreSQL cluster.
type Postgres struct {
	// Port is the server's TCP port on 127.0.0.1.
	Port int
	// Dir holds the cluster (Dir/data) and its log (Dir/log).
	Dir string
	// URL connects as the superuser "postgres" to the database "postgres"
	// (trust authentication).
	URL string

	bin  string
	cred *syscall.Credential
	mu   sync.Mutex
	up   bool
}

// pgBin finds the directory of initdb and pg_ctl.
func pgBin() (string, error) {
	if d := os.Getenv("KC_TEST_PG_BIN"); d != "" {
		return d, nil
	}
	p, err := exec.LookPath("pg_ctl")
	if err != nil {
		return "", errors.New("pg_ctl is not on the PATH (set KC_TEST_PG_BIN to PostgreSQL's bin directory)")
	}
	return filepath.Dir(p), nil
}

// StartPostgres creates a cluster in a fresh directory (initdb, trust
// authentication, fsync off: a killed server keeps every commit, a crashed machine would not) and starts it on a free port.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin, err := pgBin()
	if err != nil {
		t.Fatalf("servers: this test needs PostgreSQL's server binaries: %v", err)
	}
	dir, err := os.MkdirTemp("", "kc-pg-")
	if err != nil {
		t.Fatalf("servers: %v", err)
	}
	p := &Postgres{Port: freePort(t), Dir: dir, bin: bin}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	t.Cleanup(func() {
		p.stop("immediate")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("servers: running as root needs a \"postgres\" system user: %v", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, int(uid), int(gid)); err != nil {
			t.Fatalf("servers: %v", err)
		}
	}
	if out, err := p.run("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-sync", "--no-instructions"); err != nil {
		t.Fatalf("servers: initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"+
		"fsync = off\nfull_page_writes = off\nmax_connections = 60\nshared_buffers = 16MB\n",
		p.Port, dir)
	f, err := os.OpenFile(filepath.Join(p.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatalf("servers: %v", err)
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		t.Fatalf("servers: %v", err)
	}
	p.Start(t)
	return p
}

func (p *Postgres) data() string { return filepath.Join(p.Dir, "data") }

func (p *Postgres) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd.CombinedOutput()
}

// Start starts the cluster (again) and waits until it accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.up {
		t.Fatalf("servers: postgres on port %d is already running", p.Port)
	}
	out, err := p.run("pg_ctl", "start", "-w", "-t", strconv.Itoa(int(startTimeout.Seconds())), "-D", p.data(),
		"-l", filepath.Join(p.Dir, "log"))
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.Dir, "log"))
		t.Fatalf("servers: pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	p.up = true
}

// Stop stops the cluster at once (pg_ctl stop -m immediate: no checkpoint,
// every connection dropped), like a crash of the server.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	if out, err := p.stop("immediate"); err != nil {
		t.Fatalf("servers: pg_ctl stop: %v\n%s", err, out)
	}
}

func (p *Postgres) stop(mode string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.up {
		return nil, nil
	}
	out, err := p.run("pg_ctl", "stop", "-w", "-m", mode, "-D", p.data())
	if err == nil || strings.Contains(string(out), "Is server running?") {
		p.up = false
		err = nil
	}
	return out, err
}
