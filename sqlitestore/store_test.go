package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/history/storetest"
	sqlite3 "github.com/mattn/go-sqlite3"
)

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) history.Store {
		s, err := InMemory()
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) history.Store {
		s, err := Open(filepath.Join(t.TempDir(), "store.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openMem(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := InMemory(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openFile(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func start(instance string) history.Message {
	return history.Message{Kind: history.MsgStartOrchestration, Instance: instance, ExecutionID: 1, Name: "Orch", Input: json.RawMessage(`1`)}
}

func pragma(t *testing.T, db *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestOpenCreatesFoldersAndReopens(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "a", "b", "c", "store.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateInstance(ctx, start("x")); err != nil {
		t.Fatal(err)
	}
	var applied int64
	if err := s.db.QueryRow(`SELECT applied_at FROM schema_version WHERE version = 1`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}

	clock := newFakeClock()
	clock.Advance(time.Hour)
	s = openFile(t, path, WithClock(clock.Now))
	st, err := s.InstanceState(ctx, "x")
	if err != nil || st.Name != "Orch" {
		t.Fatalf("after reopening: %+v, %v", st, err)
	}
	var n int
	var applied2 int64
	if err := s.db.QueryRow(`SELECT COUNT(*), MAX(applied_at) FROM schema_version`).Scan(&n, &applied2); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || applied2 != applied {
		t.Errorf("schema_version has %d rows applied at %d, want %d rows applied at %d (no re-migration)", n, applied2, len(migrations), applied)
	}
	if err := s.CreateInstance(ctx, start("x")); !errors.Is(err, history.ErrAlreadyExists) {
		t.Errorf("CreateInstance after reopening: %v, want ErrAlreadyExists", err)
	}
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte(strings.Repeat("this is not a database\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path)
	if err == nil {
		t.Fatal("Open of a text file succeeded")
	}
	if !errors.Is(err, ErrNotDatabase) || !strings.Contains(err.Error(), "not a SQLite database") || !strings.Contains(err.Error(), path) {
		t.Errorf("Open of a text file: %v, want ErrNotDatabase naming the file", err)
	}
}

func TestOpenNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openFile(t, path)
	if _, err := s.db.Exec(`INSERT INTO schema_version(version, applied_at) VALUES (?, 0)`, len(migrations)+5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(path)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "schema version "+strconv.Itoa(len(migrations)+5)) {
		t.Fatalf("Open of a newer schema: %v, want ErrSchemaTooNew naming version %d", err, len(migrations)+5)
	}
}

func TestPragmas(t *testing.T) {
	dir := t.TempDir()
	full := openFile(t, filepath.Join(dir, "full.db"))
	if got := pragma(t, full.db, "synchronous"); got != "2" {
		t.Errorf("synchronous = %s, want 2 (FULL)", got)
	}
	if got := pragma(t, full.db, "journal_mode"); got != "wal" {
		t.Errorf("journal_mode = %s, want wal", got)
	}
	if got := pragma(t, full.db, "foreign_keys"); got != "1" {
		t.Errorf("foreign_keys = %s, want 1", got)
	}
	if got := pragma(t, full.db, "busy_timeout"); got != "10000" {
		t.Errorf("busy_timeout = %s, want 10000", got)
	}
	if got := pragma(t, full.rdb, "query_only"); got != "1" {
		t.Errorf("reader query_only = %s, want 1", got)
	}
	normal := openFile(t, filepath.Join(dir, "normal.db"), WithSynchronousNormal(), WithBusyTimeout(time.Second))
	if got := pragma(t, normal.db, "synchronous"); got != "1" {
		t.Errorf("synchronous with WithSynchronousNormal = %s, want 1 (NORMAL)", got)
	}
	if got := pragma(t, normal.db, "busy_timeout"); got != "1000" {
		t.Errorf("busy_timeout = %s, want 1000", got)
	}
	mem := openMem(t)
	if got := pragma(t, mem.db, "synchronous"); got != "2" {
		t.Errorf("in-memory synchronous = %s, want 2", got)
	}
	if got := pragma(t, mem.db, "foreign_keys"); got != "1" {
		t.Errorf("in-memory foreign_keys = %s, want 1", got)
	}
}

func TestInMemoryIsolated(t *testing.T) {
	ctx := t.Context()
	a, b := openMem(t), openMem(t)
	if err := a.CreateInstance(ctx, start("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.InstanceState(ctx, "x"); !errors.Is(err, history.ErrNotFound) {
		t.Fatalf("second in-memory store sees the first's instance: %v", err)
	}
	if err := b.CreateInstance(ctx, start("x")); err != nil {
		t.Fatal(err)
	}
}

// Lock expiry without another fetch taking the instance, with a fake clock.
func TestExpiredLockWithoutTakeover(t *testing.T) {
	ctx := t.Context()
	clock := newFakeClock()
	s := openMem(t, WithClock(clock.Now))
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Second})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	clock.Advance(999 * time.Millisecond)
	if err := s.RenewOrchestrationLock(ctx, l.LockToken, time.Second); err != nil {
		t.Fatalf("renew before expiry: %v", err)
	}
	clock.Advance(time.Second)
	c := history.Commit{ExecutionID: 1, Delta: []history.Event{{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}}, Status: history.StatusCompleted}
	if _, err := s.CommitOrchestration(ctx, l.LockToken, c); !errors.Is(err, history.ErrLockLost) {
		t.Fatalf("commit at the lock's expiry: %v, want ErrLockLost", err)
	}
	if err := s.RenewOrchestrationLock(ctx, l.LockToken, time.Second); !errors.Is(err, history.ErrLockLost) {
		t.Fatalf("renew of an expired lock: %v, want ErrLockLost", err)
	}
	if h, err := s.ReadHistory(ctx, "a", 0); err != nil || len(h) != 0 {
		t.Fatalf("history after a lost commit: %v, %v", h, err)
	}
	// Abandon of an expired lock nobody took still releases it.
	if err := s.AbandonOrchestration(ctx, l.LockToken, 0, true); err != nil {
		t.Fatalf("abandon of an expired lock: %v", err)
	}
	l2, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Second})
	if err != nil || l2 == nil || l2.Attempt != 1 {
		t.Fatalf("fetch after abandon: %+v, %v; want attempt 1", l2, err)
	}
	// Timers use the store clock.
	fire := clock.Now().Add(time.Minute).UnixMilli()
	c = history.Commit{ExecutionID: 1, Delta: c.Delta, Status: history.StatusRunning,
		Messages: []history.Message{{Kind: history.MsgTimerFired, Instance: "a", ExecutionID: 1, ID: 2, FireAtMs: fire}}}
	if _, err := s.CommitOrchestration(ctx, l2.LockToken, c); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute - time.Millisecond)
	if l, _ := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{}); l != nil {
		t.Fatal("timer visible before FireAtMs")
	}
	clock.Advance(time.Millisecond)
	l3, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l3 == nil || l3.Messages[0].Kind != history.MsgTimerFired {
		t.Fatalf("timer at FireAtMs: %+v, %v", l3, err)
	}
	st, _ := s.InstanceState(ctx, "a")
	if st.UpdatedAtMs != clock.Now().Add(-time.Minute).UnixMilli() || st.CreatedAtMs != 1_700_000_000_000 {
		t.Errorf("timestamps: created %d updated %d", st.CreatedAtMs, st.UpdatedAtMs)
	}
	// Worker lock expiry with the fake clock.
	c = history.Commit{ExecutionID: 1, Status: history.StatusRunning,
		Activities: []history.ActivityWork{{Instance: "a", ExecutionID: 1, ID: 3, Name: "A"}}}
	if _, err := s.CommitOrchestration(ctx, l3.LockToken, c); err != nil {
		t.Fatal(err)
	}
	al, err := s.FetchActivity(ctx, history.FetchActivityRequest{LockTimeout: time.Second})
	if err != nil || al == nil {
		t.Fatal(al, err)
	}
	clock.Advance(time.Second)
	done := &history.Message{Kind: history.MsgActivityCompleted, Instance: "a", ExecutionID: 1, ID: 3}
	if err := s.CompleteActivity(ctx, al.LockToken, done); !errors.Is(err, history.ErrLockLost) {
		t.Fatalf("complete of an expired activity lock: %v, want ErrLockLost", err)
	}
	if l, _ := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{}); l != nil {
		t.Fatal("a lost completion was queued")
	}
}

func TestCorruptHistoryRow(t *testing.T) {
	ctx := t.Context()
	s := openMem(t)
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	l, _ := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	c := history.Commit{ExecutionID: 1, Status: history.StatusRunning, Delta: []history.Event{
		{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}, {EventID: 2, Kind: history.TimerCreated, FireAtMs: 5}}}
	if _, err := s.CommitOrchestration(ctx, l.LockToken, c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE history SET data = '{"v":1,"id":2,"type":"NoSuchKind"}' WHERE event_id = 2`); err != nil {
		t.Fatal(err)
	}
	if err := s.SendMessage(ctx, history.Message{Kind: history.MsgExternalRaised, Instance: "a", Name: "e"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	if l.HistoryErr == nil || !errors.Is(l.HistoryErr, history.ErrCodec) || len(l.History) != 0 || len(l.Messages) != 1 {
		t.Fatalf("lease with a corrupt history row: err %v, history %v, messages %d", l.HistoryErr, l.History, len(l.Messages))
	}
	if l2, _ := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{}); l2 != nil {
		t.Fatal("the lock was not held")
	}
	_, err = s.ReadHistory(ctx, "a", 1)
	var se *history.StoreError
	if !errors.As(err, &se) || se.Retryable || !errors.Is(err, history.ErrCodec) {
		t.Fatalf("ReadHistory of a corrupt row: %v, want a non-retryable StoreError wrapping ErrCodec", err)
	}
	if err := s.AbandonOrchestration(ctx, l.LockToken, 0, false); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptQueueRows(t *testing.T) {
	ctx := t.Context()
	s := openMem(t)
	for _, id := range []string{"a", "b"} {
		if err := s.CreateInstance(ctx, start(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.db.Exec(`UPDATE orchestrator_queue SET message = 'garbage' WHERE instance_id = 'a'`); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil || l.Instance != "a" || l.HistoryErr == nil || len(l.Messages) != 0 {
		t.Fatalf("lease with a corrupt message: %+v, %v", l, err)
	}
	lb, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || lb == nil || lb.Instance != "b" {
		t.Fatalf("a corrupt message blocks other instances: %+v, %v", lb, err)
	}
	if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{}); err != nil {
		t.Fatal(err)
	}
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM orchestrator_queue WHERE instance_id = 'a'`).Scan(&n)
	if n != 0 {
		t.Errorf("the corrupt message survived the commit of its batch")
	}

	// Worker queue: the corrupt row is leased with WorkErr and its ids, the next one is fetched.
	c := history.Commit{ExecutionID: 1, Status: history.StatusRunning, Activities: []history.ActivityWork{
		{Instance: "b", ExecutionID: 1, ID: 1, Name: "A"}, {Instance: "b", ExecutionID: 1, ID: 2, Name: "B"}}}
	if _, err := s.CommitOrchestration(ctx, lb.LockToken, c); err != nil {
		t.Fatal(err)
	}
	s.db.Exec(`UPDATE worker_queue SET message = 'garbage' WHERE activity_id = 1`)
	bad, err := s.FetchActivity(ctx, history.FetchActivityRequest{})
	var se *history.StoreError
	if err != nil || bad == nil || !errors.As(bad.WorkErr, &se) || se.Retryable ||
		bad.Work.Instance != "b" || bad.Work.ExecutionID != 1 || bad.Work.ID != 1 || bad.LockToken == "" {
		t.Fatalf("FetchActivity of a corrupt row: %+v, %v; want a lease with a non-retryable WorkErr", bad, err)
	}
	al, err := s.FetchActivity(ctx, history.FetchActivityRequest{})
	if err != nil || al == nil || al.Work.ID != 2 {
		t.Fatalf("a corrupt activity blocks the next: %+v, %v", al, err)
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{sqlite3.Error{Code: sqlite3.ErrBusy}, true},
		{sqlite3.Error{Code: sqlite3.ErrLocked}, true},
		{sqlite3.Error{Code: sqlite3.ErrIoErr}, true},
		{sqlite3.Error{Code: sqlite3.ErrConstraint}, false},
		{sqlite3.Error{Code: sqlite3.ErrCorrupt}, false},
		{corrupt("bad row"), false},
		{history.ErrCodec, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, true},
	} {
		err := wrap("Op", tc.err)
		var se *history.StoreError
		if !errors.As(err, &se) || se.Op != "Op" || se.Retryable != tc.retryable || !errors.Is(err, tc.err) {
			t.Errorf("wrap(%v) = %#v, want a StoreError with Retryable %v", tc.err, err, tc.retryable)
		}
	}
	for _, sentinel := range []error{history.ErrNotFound, history.ErrAlreadyExists, history.ErrLockLost} {
		if err := wrap("Op", sentinel); err != sentinel {
			t.Errorf("wrap(%v) = %v, want it unchanged", sentinel, err)
		}
	}

	// A real duplicate event id is a non-retryable constraint error.
	ctx := t.Context()
	s := openMem(t)
	s.CreateInstance(ctx, start("a"))
	l, _ := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	ev := history.Event{EventID: 1, Kind: history.OrchestrationStarted}
	_, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{ev, ev}})
	var se *history.StoreError
	var sq sqlite3.Error
	if !errors.As(err, &se) || se.Retryable || !errors.As(err, &sq) || sq.Code != sqlite3.ErrConstraint {
		t.Fatalf("duplicate event: %v, want a non-retryable constraint StoreError", err)
	}
	if err := s.CreateInstance(ctx, history.Message{Kind: history.MsgExternalRaised, Instance: "z"}); !errors.As(err, &se) || se.Retryable {
		t.Errorf("CreateInstance with a non-start message: %v", err)
	}
}

// Another connection holding the write lock makes writes fail with a retryable error
// once the busy timeout runs out.
func TestBusyIsRetryable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := openFile(t, path, WithBusyTimeout(50*time.Millisecond))
	other := openFile(t, path)
	tx, err := other.db.Begin() // BEGIN IMMEDIATE: holds the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	err = s.CreateInstance(t.Context(), start("a"))
	if !history.IsRetryable(err) {
		t.Fatalf("write while another connection holds the lock: %v, want a retryable StoreError", err)
	}
	// Reads of a file database do not wait for the writer.
	if _, err := s.InstanceState(t.Context(), "a"); !errors.Is(err, history.ErrNotFound) {
		t.Fatalf("read while the write lock is held: %v", err)
	}
}

func TestWatchInstanceDoesNotLeak(t *testing.T) {
	s := openMem(t)
	var stops []func()
	for range 10 {
		_, stop := s.WatchInstance("a")
		stops = append(stops, stop)
		_, stop = s.WatchInstance("b")
		stops = append(stops, stop)
	}
	if n, _ := s.sig.Watchers(); n != 20 {
		t.Fatalf("%d watchers, want 20", n)
	}
	for _, stop := range stops {
		stop()
		stop()
	}
	if n, inst := s.sig.Watchers(); n != 0 || inst != 0 {
		t.Fatalf("%d watchers (%d instances) after stop, want none", n, inst)
	}
	// A stopped watcher is not signalled.
	ch, stop := s.WatchInstance("c")
	stop()
	if err := s.CreateInstance(t.Context(), start("c")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("a stopped watcher was signalled")
	default:
	}
}

func TestSendMessageDropsWithoutSignal(t *testing.T) {
	ctx := t.Context()
	s := openMem(t)
	s.CreateInstance(ctx, start("a"))
	l, _ := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1, Status: history.StatusCompleted,
		Delta: []history.Event{{EventID: 1, Kind: history.OrchestrationStarted}}}); err != nil {
		t.Fatal(err)
	}
	for len(s.OrchestratorWork()) > 0 {
		<-s.OrchestratorWork()
	}
	if err := s.SendMessage(ctx, history.Message{Kind: history.MsgExternalRaised, Instance: "a", Name: "e"}); err != nil {
		t.Fatal(err)
	}
	if len(s.OrchestratorWork()) != 0 {
		t.Error("a dropped message signalled OrchestratorWork")
	}
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM orchestrator_queue`).Scan(&n)
	if n != 0 {
		t.Errorf("%d queued messages, want 0", n)
	}
}

// A context cancelled in the middle of a transaction must not cost the in-memory
// database its only connection (database/sql discards the connection of a transaction
// whose context ends before it does).
func TestCancelDuringTransactionKeepsInMemoryData(t *testing.T) {
	s := openMem(t)
	if err := s.CreateInstance(t.Context(), start("a")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	_, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{
		HistoryAfter: func(string, uint64) uint64 { cancel(); return 0 },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("fetch with a context cancelled mid-transaction: %v, want context.Canceled", err)
	}
	if _, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("fetch with a cancelled context: %v", err)
	}
	st, err := s.InstanceState(t.Context(), "a")
	if err != nil || st.Name != "Orch" {
		t.Fatalf("after the cancelled fetch: %+v, %v", st, err)
	}
	l, err := s.FetchOrchestration(t.Context(), history.FetchOrchestrationRequest{})
	if err != nil || l == nil || l.Attempt != 1 {
		t.Fatalf("the cancelled fetch was not rolled back: %+v, %v", l, err)
	}
}

// Two stores on one file stand for two processes: their fetchers never hold one
// instance at the same time and every message is delivered once.
func TestTwoStoresOnOneFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := []*Store{openFile(t, path, WithSynchronousNormal()), openFile(t, path, WithSynchronousNormal())}
	const instances, perInstance = 20, 3
	for i := range instances {
		id := "i" + strconv.Itoa(i)
		if err := stores[i%2].CreateInstance(ctx, start(id)); err != nil {
			t.Fatal(err)
		}
		for k := range perInstance - 1 {
			if err := stores[(i+1)%2].SendMessage(ctx, history.Message{Kind: history.MsgExternalRaised, Instance: id, Name: strconv.Itoa(k)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var (
		mu        sync.Mutex
		held      = map[string]bool{}
		delivered int
	)
	deadline := time.Now().Add(10 * time.Second)
	var wg sync.WaitGroup
	for g := range 6 {
		s := stores[g%2]
		wg.Go(func() {
			for time.Now().Before(deadline) {
				mu.Lock()
				finished := delivered == instances*perInstance
				mu.Unlock()
				if finished {
					return
				}
				l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
				if err != nil {
					t.Errorf("FetchOrchestration: %v", err)
					return
				}
				if l == nil {
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				if held[l.Instance] {
					t.Errorf("%q fetched twice at once", l.Instance)
				}
				held[l.Instance] = true
				delivered += len(l.Messages)
				mu.Unlock()
				mu.Lock()
				delete(held, l.Instance)
				mu.Unlock()
				if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1}); err != nil {
					t.Errorf("CommitOrchestration: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if delivered != instances*perInstance {
		t.Fatalf("%d messages delivered, want %d", delivered, instances*perInstance)
	}
}
