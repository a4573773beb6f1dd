// Package sqlitestore is the embedded default history.Store: one SQLite database file
// (or a private in-memory database) holding every instance's history, status, KV store
// and the two peek-lock queues.
//
// Durability and concurrency: file databases run in WAL mode with synchronous=FULL by
// default, so no committed turn is lost on power failure; WithSynchronousNormal trades
// that for speed (a process crash loses nothing, a power failure may lose the last
// commits). Writes that only take, extend or count locks (fetches, renewals) are not
// synced on their own: the next commit's sync of the write-ahead log covers them, and a
// lock lost to a power failure only expires sooner. Every write is one BEGIN IMMEDIATE
// transaction (group-committed with the writes queued behind it) on a single writer
// connection, so writers in one process queue in Go and writers in other processes wait
// on SQLite's busy timeout; reads of file databases go through a separate pool of
// query-only connections and never wait for writers.
//
// The schema is versioned in the schema_version table; Open applies the migrations the
// file lacks, each in its own transaction, and refuses a file written by a newer build.
//
// Timestamps are integer Unix milliseconds from the store's clock (WithClock).
// Payloads are stored as TEXT exactly as the history codec writes them.
//
// Behaviour the contract leaves open:
//   - A fetch whose lock timeout is zero or negative locks for DefaultLockTimeout.
//   - A queued message that cannot be decoded is handled like an undecodable history
//     row: the lease comes back (lock held) with HistoryErr set and without that
//     message; a commit of the lease deletes it with the rest of the batch.
//   - A worker-queue row that cannot be decoded is locked (so it does not block the rows
//     behind it) and FetchActivity returns a non-retryable *history.StoreError.
//   - A commit for an instance whose row is missing records its delta only if the delta
//     holds an OrchestrationStarted (the row is then recreated from it); otherwise it
//     records no history or status but still removes the batch and queues the
//     commit's messages and activities.
//   - Messages a commit routes to an instance without a row are queued (a fetch returns
//     them with a zero State); completions are queued for terminal instances too. Only
//     SendMessage checks the addressee.
//   - AbandonOrchestration with a delay also delays the instance's other visible
//     messages, so that they are not handled before the batch; ignoreAttempt concerns
//     the batch only. Abandoning an expired lock that no other fetch has taken still
//     releases it; the activity calls (Complete, Abandon, Renew) need a live lock.
//   - GetKV and GetAllKV of an unknown instance report no keys (no ErrNotFound).
//   - Commit.ExecutionID 0 means the current execution.
//   - FetchOrchestrationRequest.HistoryAfter is called inside the fetch's transaction:
//     it must be quick and must not call the store.
//
// Notifier signals are in-process: a Store learns only of its own writes, not of those
// made by other processes sharing the file (they are found by polling).
package sqlitestore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duroxide-go/duroxide/history"
	sqlite3 "github.com/mattn/go-sqlite3"
)

var (
	_ history.Store    = (*Store)(nil)
	_ history.Notifier = (*Store)(nil)
)

// DefaultLockTimeout is the lock duration used when a fetch asks for none.
const DefaultLockTimeout = 30 * time.Second

// DefaultBusyTimeout is how long a write waits for another process holding the
// database's write lock before failing with a retryable error.
const DefaultBusyTimeout = 10 * time.Second

// ErrSchemaTooNew is returned by Open for a database written by a newer build.
var ErrSchemaTooNew = errors.New("sqlitestore: database schema is newer than this build supports")

// ErrNotDatabase is returned by Open for a file that is not a SQLite database.
var ErrNotDatabase = errors.New("sqlitestore: file is not a SQLite database")

// Option configures a Store.
type Option func(*config)

type config struct {
	clock       func() time.Time
	synchronous string
	busyTimeout time.Duration
}

// WithClock sets the clock every timestamp, visibility and lock expiry is computed
// from (default time.Now). Meant for tests.
func WithClock(clock func() time.Time) Option {
	return func(c *config) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// WithSynchronousNormal runs the database with synchronous=NORMAL instead of FULL:
// commits survive a process crash but the last ones may be lost on power failure.
func WithSynchronousNormal() Option {
	return func(c *config) { c.synchronous = "NORMAL" }
}

// WithBusyTimeout sets how long a write waits for the database's write lock held by
// another process (default DefaultBusyTimeout).
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d >= 0 {
			c.busyTimeout = d
		}
	}
}

// Store is a history.Store and history.Notifier on SQLite. It is safe for concurrent use.
type Store struct {
	db    *sql.DB // the single writer connection (and every read, in memory)
	rdb   *sql.DB // query-only readers (== db in memory)
	clock func() time.Time
	sig   *history.Signals

	writes writeQueue
	wakes  dueWakes
	// fullSync: a file database with synchronous=FULL, whose lock-only batches may run
	// with NORMAL (see setSync); syncMode is the writer's current setting, touched only
	// by the leading writer.
	fullSync bool
	syncMode string

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating it, and its parent folders, if needed) the database file at path
// and brings its schema up to date.
func Open(path string, opts ...Option) (*Store, error) {
	cfg := newConfig(opts)
	if path == "" {
		return nil, errors.New("sqlitestore: open: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	base := "file:" + (&url.URL{Path: abs}).EscapedPath()
	busy := fmt.Sprint(cfg.busyTimeout.Milliseconds())

	writer := url.Values{}
	writer.Set("_txlock", "immediate")
	writer.Set("_busy_timeout", busy)
	writer.Set("_foreign_keys", "1")
	writer.Set("_journal_mode", "WAL")
	writer.Set("_synchronous", cfg.synchronous)
	writer.Set("_stmt_cache_size", stmtCacheSize)
	db, err := sql.Open("sqlite3", base+"?"+writer.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	single(db)
	if err := prepare(db, cfg); err != nil {
		db.Close()
		return nil, openError(path, err)
	}

	reader := url.Values{}
	reader.Set("_txlock", "deferred")
	reader.Set("_busy_timeout", busy)
	reader.Set("_foreign_keys", "1")
	reader.Set("_query_only", "1")
	reader.Set("_stmt_cache_size", stmtCacheSize)
	rdb, err := sql.Open("sqlite3", base+"?"+reader.Encode())
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)
	if err := rdb.Ping(); err != nil {
		db.Close()
		rdb.Close()
		return nil, openError(path, err)
	}
	return &Store{db: db, rdb: rdb, clock: cfg.clock, sig: history.NewSignals(),
		fullSync: cfg.synchronous == "FULL", syncMode: cfg.synchronous}, nil
}

// stmtCacheSize is how many prepared statements each connection keeps: more than the
// store's distinct statements, so a statement is compiled once per connection instead
// of on every call.
const stmtCacheSize = "128"

var memSeq atomic.Uint64

// InMemory opens a fresh in-memory database, private to the returned Store. Its data is
// lost on Close.
func InMemory(opts ...Option) (*Store, error) {
	cfg := newConfig(opts)
	q := url.Values{}
	q.Set("mode", "memory")
	q.Set("cache", "shared")
	q.Set("_txlock", "immediate")
	q.Set("_busy_timeout", fmt.Sprint(cfg.busyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", cfg.synchronous)
	q.Set("_stmt_cache_size", stmtCacheSize)
	name := fmt.Sprintf("duroxide-mem-%d-%d-%s", os.Getpid(), memSeq.Add(1), newToken()[:8])
	db, err := sql.Open("sqlite3", "file:"+name+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: in-memory: %w", err)
	}
	// One connection that is never recycled: the database lives as long as it does.
	single(db)
	if err := prepare(db, cfg); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: in-memory: %w", err)
	}
	return &Store{db: db, rdb: db, clock: cfg.clock, sig: history.NewSignals()}, nil
}

func newConfig(opts []Option) config {
	cfg := config{clock: time.Now, synchronous: "FULL", busyTimeout: DefaultBusyTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

func single(db *sql.DB) {
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
}

func prepare(db *sql.DB, cfg config) error {
	ctx := context.Background()
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	return migrate(ctx, db, cfg.clock().UnixMilli())
}

func openError(path string, err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return fmt.Errorf("%w: %s: %w", ErrNotDatabase, path, err)
	}
	return fmt.Errorf("sqlitestore: open %s: %w", path, err)
}

// Close closes the database. Watchers and waiting receivers are not signalled.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.wakes.stop()
		var errs []error
		if s.rdb != s.db {
			errs = append(errs, s.rdb.Close())
		}
		errs = append(errs, s.db.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func (s *Store) nowMs() int64 { return s.clock().UnixMilli() }

func newToken() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// write runs fn in a BEGIN IMMEDIATE transaction on the writer connection; now is read
// once the write lock is held. Errors are classified (see wrap).
//
// Writes are group-committed: while one transaction runs, the writes that arrive queue,
// and the next transaction runs all of them (up to maxWriteBatch), each in its own
// savepoint, and commits once. A write that fails rolls back to its savepoint and leaves
// the others of its batch alone; every write returns only once its batch is durable, so
// each is still atomic and durable, and a batch costs one commit (one fsync with
// synchronous=FULL) instead of one per write.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx, now int64) error) error {
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	r := &writeReq{ctx: ctx, op: op, fn: fn, done: make(chan struct{}), lead: make(chan struct{})}
	w := &s.writes
	w.mu.Lock()
	w.pending = append(w.pending, r)
	leader := !w.leading
	w.leading = true
	w.mu.Unlock()
	if !leader {
		select {
		case <-r.done:
			return r.err
		case <-r.lead: // the previous leader handed over: run the queue
		case <-ctx.Done():
			if w.withdraw(r) {
				return wrap(op, ctx.Err())
			}
			<-r.done // already taken into a batch: its outcome stands
			return r.err
		}
	}
	s.leadWrites(r)
	<-r.done
	return r.err
}

// lockOnlyOps are the writes that only take, extend or count locks: losing them in a
// power failure loses nothing a restart needs (locks expire, attempts are counted again),
// and the next FULL commit's fsync of the write-ahead log makes them durable anyway.
var lockOnlyOps = map[string]bool{
	"FetchOrchestration": true, "FetchActivity": true,
	"RenewOrchestrationLock": true, "RenewActivityLock": true, "RenewSessionLocks": true,
}

// setSync runs a batch of lock-only writes on a synchronous=FULL file database without
// its own fsync (synchronous=NORMAL), and every other batch with FULL: a batch that
// records a turn, a completion or a client's write runs only once FULL is confirmed.
func (s *Store) setSync(conn *sql.Conn, batch []*writeReq) error {
	if !s.fullSync {
		return nil
	}
	want := "NORMAL"
	for _, r := range batch {
		if !lockOnlyOps[r.op] {
			want = "FULL"
			break
		}
	}
	if want == s.syncMode {
		return nil
	}
	s.syncMode = "" // unknown until the pragma has run
	if _, err := conn.ExecContext(context.Background(), "PRAGMA synchronous = "+want); err != nil {
		return fmt.Errorf("set synchronous=%s: %w", want, err)
	}
	s.syncMode = want
	return nil
}

// maxWriteBatch bounds the writes one transaction commits together.
const maxWriteBatch = 64

// writeQueue holds the writes waiting for the writer connection. One caller at a time
// leads: it runs batches from the queue until its own write is done, then hands the
// lead to the oldest waiting write, so no background goroutine is needed.
type writeQueue struct {
	mu      sync.Mutex
	pending []*writeReq
	leading bool
}

// withdraw removes a write its caller gave up on, if no batch has taken it yet, passing
// the lead on if it had just been handed to it; false when a batch has taken it.
func (w *writeQueue) withdraw(r *writeReq) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.taken {
		return false
	}
	if i := slices.Index(w.pending, r); i >= 0 {
		w.pending = slices.Delete(w.pending, i, i+1)
	}
	select {
	case <-r.lead:
		if len(w.pending) > 0 {
			close(w.pending[0].lead)
		} else {
			w.leading = false
		}
	default:
	}
	return true
}

type writeReq struct {
	ctx   context.Context
	op    string
	fn    func(tx *sql.Tx, now int64) error
	err   error
	taken bool          // in a batch (under writeQueue.mu)
	done  chan struct{} // closed once err is final
	lead  chan struct{} // closed when this write's caller becomes the leader
}

// leadWrites runs batches until own is done, then passes the lead on (or drops it when
// the queue is empty).
func (s *Store) leadWrites(own *writeReq) {
	w := &s.writes
	for {
		w.mu.Lock()
		select {
		case <-own.done:
			if len(w.pending) == 0 {
				w.leading = false
			} else {
				close(w.pending[0].lead)
			}
			w.mu.Unlock()
			return
		default:
		}
		n := min(len(w.pending), maxWriteBatch)
		batch := slices.Clone(w.pending[:n])
		w.pending = slices.Delete(w.pending, 0, n)
		for _, r := range batch {
			r.taken = true
		}
		w.mu.Unlock()
		s.runBatch(batch)
		for _, r := range batch {
			close(r.done)
		}
	}
}

// call runs one write's function. A panic becomes that write's error: it runs on the
// leader's goroutine, which may be another caller's, and must not leave the queue
// without a leader.
func (s *Store) call(r *writeReq, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = invalid("%s panicked: %v", r.op, p)
		}
	}()
	return r.fn(tx, s.nowMs())
}

// runBatch runs a batch of writes in one transaction and sets each one's error.
func (s *Store) runBatch(batch []*writeReq) {
	if len(batch) == 0 {
		return
	}
	bg := context.Background() // the batch outlives any one caller's context
	fail := func(rs []*writeReq, err error) {
		for _, r := range rs {
			if r.err == nil {
				r.err = wrap(r.op, err)
			}
		}
	}
	conn, err := s.db.Conn(bg)
	if err != nil {
		fail(batch, err)
		return
	}
	defer conn.Close()
	if err := s.setSync(conn, batch); err != nil {
		fail(batch, err)
		return
	}
	tx, err := conn.BeginTx(bg, nil)
	if err != nil {
		fail(batch, err)
		return
	}
	if len(batch) == 1 {
		r := batch[0]
		if err := s.call(r, tx); err != nil {
			_ = tx.Rollback()
			r.err = wrap(r.op, err)
			return
		}
		if err := tx.Commit(); err != nil {
			r.err = wrap(r.op, err)
		}
		return
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = wrap(r.op, err)
			continue
		}
		if _, err := tx.ExecContext(bg, `SAVEPOINT batched_write`); err != nil {
			_ = tx.Rollback()
			fail(batch, err)
			return
		}
		ferr := s.call(r, tx)
		if ferr != nil {
			r.err = wrap(r.op, ferr)
			if _, err := tx.ExecContext(bg, `ROLLBACK TO batched_write`); err != nil {
				// The transaction itself is gone (an interrupted statement rolls it
				// back): the writes before this one were lost with it and may be
				// retried; the writes after it run in a new transaction.
				_ = tx.Rollback()
				for _, done := range batch[:i] {
					if done.err == nil {
						done.err = &history.StoreError{Op: done.op, Retryable: true,
							Err: fmt.Errorf("batched write rolled back by the failure of %s: %v", r.op, ferr)}
					}
				}
				s.runBatch(batch[i+1:])
				return
			}
		}
		if _, err := tx.ExecContext(bg, `RELEASE batched_write`); err != nil {
			_ = tx.Rollback()
			fail(batch, err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(batch, err)
	}
}

// read runs fn in a read transaction (a consistent snapshot).
func (s *Store) read(ctx context.Context, op string, fn func(tx *sql.Tx, now int64) error) error {
	return s.inTx(ctx, s.rdb, op, fn)
}

// inTx runs fn in a transaction. The caller's ctx bounds the wait for a connection and
// each statement, but not the transaction itself: database/sql discards the connection
// of a transaction whose context ends first, which would destroy an in-memory database.
// A statement interrupted by ctx fails, and the transaction is rolled back as usual.
func (s *Store) inTx(ctx context.Context, db *sql.DB, op string, fn func(tx *sql.Tx, now int64) error) error {
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return wrap(op, err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return wrap(op, err)
	}
	if err := fn(tx, s.nowMs()); err != nil {
		_ = tx.Rollback()
		return wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return wrap(op, err)
	}
	return nil
}

func durMs(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return d.Milliseconds()
}

// maxDueWakes bounds the wake-up times kept; messages due later than the last one kept
// are found by the dispatchers' polling.
const maxDueWakes = 1024

// dueWakes signals orchestrator work when a message queued for later (a timer, a
// delayed retry) becomes visible, so that idle dispatchers fetch it at its due time
// instead of at their next poll. One time.Timer runs, for the earliest due time.
type dueWakes struct {
	mu      sync.Mutex
	due     []int64 // sorted, distinct Unix milliseconds
	timer   *time.Timer
	stopped bool
}

// wakeAt signals orchestrator work at Unix millisecond ms (by the store's clock).
func (s *Store) wakeAt(ms int64) {
	w := &s.wakes
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	i, found := slices.BinarySearch(w.due, ms)
	if found || i >= maxDueWakes {
		return
	}
	w.due = slices.Insert(w.due, i, ms)
	if len(w.due) > maxDueWakes {
		w.due = w.due[:maxDueWakes]
	}
	if i == 0 {
		s.armWakeLocked()
	}
}

// armWakeLocked sets the timer for the earliest due time.
func (s *Store) armWakeLocked() {
	w := &s.wakes
	if len(w.due) == 0 {
		return
	}
	// One millisecond late: a message is visible once visible_at <= now.
	d := time.Duration(w.due[0]-s.nowMs()+1) * time.Millisecond
	if w.timer == nil {
		w.timer = time.AfterFunc(d, s.dueWake)
		return
	}
	w.timer.Reset(d)
}

// dueWake runs when the earliest due time has come: it signals, drops the times that
// have passed and arms the timer for the next one.
func (s *Store) dueWake() {
	w := &s.wakes
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return
	}
	now := s.nowMs()
	n, _ := slices.BinarySearch(w.due, now+1)
	fired := n > 0
	w.due = slices.Delete(w.due, 0, n)
	s.armWakeLocked()
	w.mu.Unlock()
	if fired {
		s.sig.Orchestrator()
	}
}

func (w *dueWakes) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	w.due = nil
	if w.timer != nil {
		w.timer.Stop()
	}
}
