// Package pgstore is a history.Store and history.Notifier on PostgreSQL (through
// github.com/lib/pq), for runtimes and clients spread over several processes or hosts.
//
// Every object lives in one schema (ConnectWithSchema; Connect uses "public"), created
// when missing. The schema is versioned in its schema_version table; Connect applies the
// missing migrations in one transaction under a PostgreSQL advisory lock, so processes
// connecting at once are safe, and refuses a schema written by a newer build
// (ErrSchemaTooNew). Connect retries until its context ends while the database cannot be
// reached, then fails with an error saying so and wrapping the last failure.
//
// Storage: timestamps are BIGINT Unix milliseconds from the database's clock (never a
// host's), so lock expiry and timer visibility mean the same to every process. History
// rows, queue messages and raw JSON payloads are BYTEA written byte for byte as the
// history codec renders them (never jsonb, which reorders keys); replay compares inputs
// byte for byte. KV values, custom status and identifiers are TEXT, so they cannot hold
// NUL bytes or invalid UTF-8.
//
// Concurrency: statements run at READ COMMITTED. An orchestration fetch picks the
// oldest visible message of an instance without a live lock with FOR UPDATE SKIP
// LOCKED, takes a transaction-scoped advisory lock on the instance (without waiting) and
// the instance's lock row (NOWAIT), then writes the instance lock and tags the batch;
// losing any of these races moves on to the next candidate instance. Activities are
// fetched with FOR UPDATE SKIP LOCKED. A commit locks its instance-lock row first and
// validates it against the database clock, so a commit and a fetch taking over an
// expired lock are serialised. Serialization failures and deadlocks are retried a few
// times inside the store; other failures become *history.StoreError, retryable for
// connection loss, server shutdown, serialization failures, deadlocks, lock timeouts
// and exhausted resources, not for constraint violations or bad data.
//
// Notifications: the Notifier channels fire in-process on every change made through
// this Store, and across processes through LISTEN/NOTIFY on the channels
// "<schema>_orch", "<schema>_work" and "<schema>_inst" (payload: the sending Store's id,
// and for "<schema>_inst" a colon and the instance id), read by a pq.Listener that
// reconnects by itself (and wakes every waiter after reconnecting, as notifications may
// have been missed); a Store ignores the notifications it sent itself. Because a transaction that has sent NOTIFY
// takes a database-wide lock at commit, a write sends "<schema>_orch" or
// "<schema>_work" only when its queue had no fetchable work before it and it queues work
// that is fetchable at once (visible, and for an instance nobody holds): runtimes busy
// with work fetch again after each item anyway.
// A commit queuing only a future timer sends nothing: dispatchers find timers by
// polling. "<schema>_inst" is sent when an instance's execution completes or fails and
// when its custom status changes (what clients wait for).
//
// Speed: statements run in transactions, and the client's reads, are prepared on the
// server once per connection (prepared.go); a fetch that found work commits without
// waiting for its WAL flush (it only takes locks); a fetch says whether the queue was
// drained (OrchestrationLease.Drained); a commit can queue activities already locked for
// the committing runtime (Commit.LeaseActivities).
//
// Behaviour the contract leaves open is as in sqlitestore: a fetch whose lock timeout is
// zero or negative locks for DefaultLockTimeout; undecodable queue or history rows give
// a lease with HistoryErr; an undecodable activity row stays locked and FetchActivity
// returns a non-retryable StoreError; messages routed to an instance without a row are
// queued; AbandonOrchestration with a delay delays the instance's other visible
// messages too; an expired lock nobody took can still be abandoned; GetKV and GetAllKV
// of an unknown instance report no keys; Commit.ExecutionID 0 means the current
// execution. FetchOrchestrationRequest.HistoryAfter is called inside the fetch's
// transaction, at most once per fetch: it must be quick and must not call the store.
package pgstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/lib/pq"
)

var (
	_ history.Store    = (*Store)(nil)
	_ history.Notifier = (*Store)(nil)
)

// DefaultLockTimeout is the lock duration used when a fetch asks for none.
const DefaultLockTimeout = 30 * time.Second

// DefaultMaxConns is the default size of the connection pool.
const DefaultMaxConns = 10

// DefaultSchema is the schema Connect uses.
const DefaultSchema = "public"

// Option configures a Store.
type Option func(*config)

type config struct {
	maxConns int
}

// WithMaxConns sets the size of the connection pool (default DefaultMaxConns). The
// notification listener holds one more connection of its own.
func WithMaxConns(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxConns = n
		}
	}
}

// Store is a history.Store and history.Notifier on PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db       *sql.DB
	schema   string
	quoted   string
	sqlCache sync.Map // statement template -> statement
	stmts    *stmtCache

	listener                   *pq.Listener
	chOrch, chWork, chInst     string
	origin                     string // this Store's id in its NOTIFY payloads
	sig                        *history.Signals
	closeOnce                  sync.Once
	closeErr                   error
	reconnectMin, reconnectMax time.Duration
}

// Connect connects to the database at url (a postgres:// URL or a key=value
// connection string, as lib/pq reads them) and uses the "public" schema. See
// ConnectWithSchema.
func Connect(ctx context.Context, url string, opts ...Option) (*Store, error) {
	return ConnectWithSchema(ctx, url, DefaultSchema, opts...)
}

// ConnectWithSchema connects to the database at url and keeps every object in schema,
// creating it and applying the migrations it lacks. While the database cannot be
// reached it retries, backing off up to 2s between attempts, until ctx ends; it then
// returns an error that says the database is unreachable and wraps the last failure
// (and ctx's error). Wrong credentials, an unknown database, missing privileges and a
// newer schema fail at once.
func ConnectWithSchema(ctx context.Context, url, schema string, opts ...Option) (*Store, error) {
	if err := checkSchema(schema); err != nil {
		return nil, err
	}
	cfg := config{maxConns: DefaultMaxConns}
	for _, o := range opts {
		o(&cfg)
	}
	pcfg, err := pq.NewConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: invalid database URL: %w", err)
	}
	where := net.JoinHostPort(pcfg.Host, fmt.Sprint(pcfg.Port))
	// One round trip per statement instead of two (parse, then bind and execute).
	pcfg.BinaryParameters = true
	connector, err := pq.NewConnectorConfig(pcfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: invalid database URL: %w", err)
	}
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(cfg.maxConns)
	db.SetMaxIdleConns(cfg.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)

	start := time.Now()
	attempts := 0
	var lastErr error
	delay := 50 * time.Millisecond
	for {
		attempts++
		err := migrate(ctx, db, schema)
		if err == nil {
			break
		}
		if ctx.Err() == nil || lastErr == nil {
			lastErr = err
		}
		if permanentConnectError(err) {
			db.Close()
			return nil, fmt.Errorf("pgstore: connect to %s, schema %q: %w", where, schema, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			db.Close()
			return nil, unreachable(ctx, where, attempts, start, lastErr)
		case <-t.C:
		}
		delay = min(delay*2, 2*time.Second)
	}

	s := &Store{
		db: db, schema: schema, quoted: quoteIdent(schema),
		chOrch: schema + "_orch", chWork: schema + "_work", chInst: schema + "_inst",
		origin:       newToken(),
		stmts:        newStmtCache(maxPrepared),
		sig:          history.NewSignals(),
		reconnectMin: 50 * time.Millisecond, reconnectMax: 2 * time.Second,
	}
	if err := s.startListener(ctx, url); err != nil {
		db.Close()
		if ctx.Err() != nil {
			return nil, unreachable(ctx, where, attempts, start, err)
		}
		return nil, fmt.Errorf("pgstore: listen for notifications: %w", err)
	}
	return s, nil
}

func unreachable(ctx context.Context, where string, attempts int, start time.Time, last error) error {
	return fmt.Errorf("pgstore: database unreachable at %s: gave up after %d attempts in %s (%w): %w",
		where, attempts, time.Since(start).Round(time.Millisecond), context.Cause(ctx), last)
}

// Schema is the schema the store keeps its objects in.
func (s *Store) Schema() string { return s.schema }

// Close closes the listener and the connection pool. Watchers and waiting receivers are
// not signalled.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if err := s.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		s.stmts.close()
		errs = append(errs, s.db.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// DropSchema drops the store's schema and everything in it (for the "public" schema:
// the store's tables only). Meant for tests; the Store is unusable afterwards except
// for Close.
func (s *Store) DropSchema(ctx context.Context) error {
	var err error
	if s.schema == DefaultSchema {
		_, err = s.db.ExecContext(ctx, s.sql(`DROP TABLE IF EXISTS {S}.history, {S}.executions, {S}.kv_store,
			{S}.kv_delta, {S}.instances, {S}.orchestrator_queue, {S}.instance_locks, {S}.worker_queue, {S}.sessions, {S}.schema_version CASCADE`))
	} else {
		_, err = s.db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+s.quoted+` CASCADE`)
	}
	return wrap(ctx, "DropSchema", err)
}

// sql expands a statement template for this store's schema.
func (s *Store) sql(tmpl string) string {
	if q, ok := s.sqlCache.Load(tmpl); ok {
		return q.(string)
	}
	q := expand(tmpl, s.quoted)
	s.sqlCache.Store(tmpl, q)
	return q
}

func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// errRetryTx asks write to roll back and stop without an error (a lost race).
var errRetryTx = errors.New("pgstore: roll back")

// maxTransientRetries bounds the store's own retries of serialization failures and
// deadlocks.
const maxTransientRetries = 3

// write runs fn in a READ COMMITTED transaction, retrying it (from the start) after a
// serialization failure or a deadlock while retry allows; errors are classified (wrap).
// fn returning errRetryTx rolls back and makes write return errRetryTx.
func (s *Store) write(ctx context.Context, op string, fn func(tx ptx) error) error {
	return s.writeRetry(ctx, op, fn, func() bool { return true })
}

func (s *Store) writeRetry(ctx context.Context, op string, fn func(tx ptx) error, retry func() bool) error {
	for attempt := 0; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || errors.Is(err, errRetryTx) {
			return err
		}
		if attempt < maxTransientRetries && transient(err) && ctx.Err() == nil && retry() {
			time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
			continue
		}
		return wrap(ctx, op, err)
	}
}

func (s *Store) runTx(ctx context.Context, fn func(tx ptx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := ptx{Tx: sqlTx, s: s}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func lockMs(d time.Duration) int64 {
	if ms := durMs(d); ms > 0 {
		return ms
	}
	return DefaultLockTimeout.Milliseconds()
}

func durMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return d.Milliseconds()
}
