package pgstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/history/storetest"
	"github.com/lib/pq"
)

// The tests need a PostgreSQL server: DATABASE_URL names it. Each test works in schemas
// of its own (unique names, dropped at cleanup), so test packages and runs can share a
// database.

const skipMessage = "set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests"

// TestMain fails the run if goroutines outlive the tests (stores not closed, listeners
// or watchers left behind).
func TestMain(m *testing.M) {
	before := runtime.NumGoroutine()
	code := m.Run()
	if adminDB != nil {
		adminDB.Close()
	}
	if code == 0 {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			fmt.Fprintf(os.Stderr, "goroutine leak: %d goroutines, %d before the tests\n%s\n", n, before, buf[:runtime.Stack(buf, true)])
			code = 1
		}
	}
	os.Exit(code)
}

func dbURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("DATABASE_URL")
	if u == "" {
		t.Skip(skipMessage)
	}
	return u
}

var (
	adminOnce sync.Once
	adminDB   *sql.DB
)

// admin is a plain connection pool for inspecting and dropping schemas.
func admin(t *testing.T) *sql.DB {
	t.Helper()
	u := dbURL(t)
	adminOnce.Do(func() {
		db, err := sql.Open("postgres", u)
		if err != nil {
			panic(err)
		}
		db.SetMaxOpenConns(4)
		adminDB = db
	})
	return adminDB
}

var schemaSeq atomic.Uint64

// freshSchema names a schema no other test (or run) uses and drops it at cleanup.
func freshSchema(t *testing.T) string {
	t.Helper()
	db := admin(t)
	name := fmt.Sprintf("pgtest_%d_%d_%s", os.Getpid(), schemaSeq.Add(1), newToken()[:8])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+quoteIdent(name)+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func connect(t *testing.T, url, schema string, opts ...Option) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := ConnectWithSchema(ctx, url, schema, opts...)
	if err != nil {
		t.Fatalf("ConnectWithSchema(%s): %v", schema, err)
	}
	return s
}

// openStore connects to a fresh schema; the store is closed at cleanup.
func openStore(t *testing.T, opts ...Option) *Store {
	t.Helper()
	url := dbURL(t)
	s := connect(t, url, freshSchema(t), opts...)
	t.Cleanup(func() { s.Close() })
	return s
}

func start(instance string) history.Message {
	return history.Message{Kind: history.MsgStartOrchestration, Instance: instance, ExecutionID: 1, Name: "Orch", Input: json.RawMessage(`1`)}
}

func TestConformance(t *testing.T) {
	url := dbURL(t)
	storetest.Run(t, func(t *testing.T) history.Store {
		return connect(t, url, freshSchema(t), WithMaxConns(4))
	})
}

func TestSkipMessage(t *testing.T) {
	if !strings.Contains(skipMessage, "DATABASE_URL") || !strings.Contains(skipMessage, "postgres://") {
		t.Fatalf("the skip message does not say how to enable the tests: %q", skipMessage)
	}
}

func TestSchemaName(t *testing.T) {
	for _, bad := range []string{"", "1abc", "a-b", `a"b`, "a b", "pg_x", "information_schema", "ä", strings.Repeat("x", 59)} {
		if err := checkSchema(bad); err == nil {
			t.Errorf("checkSchema(%q) accepted it", bad)
		}
	}
	for _, good := range []string{"public", "duroxide", "Tenant_42", "_x", strings.Repeat("x", 58)} {
		if err := checkSchema(good); err != nil {
			t.Errorf("checkSchema(%q): %v", good, err)
		}
	}
	if _, err := ConnectWithSchema(t.Context(), "postgres://127.0.0.1:1/x", "bad;name"); err == nil || !strings.Contains(err.Error(), "invalid schema name") {
		t.Errorf("ConnectWithSchema with a bad schema name: %v", err)
	}
}

func TestSchemaCreatedAndReused(t *testing.T) {
	url := dbURL(t)
	db := admin(t)
	ctx := t.Context()
	schema := freshSchema(t)
	var exists bool
	db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists)
	if exists {
		t.Fatalf("schema %s exists before Connect", schema)
	}
	s := connect(t, url, schema)
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists); err != nil || !exists {
		t.Fatalf("schema %s not created: %v", schema, err)
	}
	// Every object is inside the schema.
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`, schema)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	want := "executions history instance_locks instances kv_delta kv_store orchestrator_queue schema_version sessions worker_queue"
	if got := strings.Join(tables, " "); got != want {
		t.Errorf("tables in %s: %s, want %s", schema, got, want)
	}
	if err := s.CreateInstance(ctx, start("x")); err != nil {
		t.Fatal(err)
	}
	var applied int64
	if err := db.QueryRowContext(ctx, `SELECT applied_at FROM `+quoteIdent(schema)+`.schema_version WHERE version = 1`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s = connect(t, url, schema)
	defer s.Close()
	st, err := s.InstanceState(ctx, "x")
	if err != nil || st.Name != "Orch" {
		t.Fatalf("after reconnecting: %+v, %v", st, err)
	}
	var n int
	var applied2 int64
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(applied_at) FROM `+quoteIdent(schema)+`.schema_version`).Scan(&n, &applied2); err != nil {
		t.Fatal(err)
	}
	if n != len(migrations) || applied2 != applied {
		t.Errorf("schema_version has %d rows applied at %d, want %d rows applied at %d (no re-migration)", n, applied2, len(migrations), applied)
	}
	if err := s.CreateInstance(ctx, start("x")); !errors.Is(err, history.ErrAlreadyExists) {
		t.Errorf("CreateInstance after reconnecting: %v, want ErrAlreadyExists", err)
	}
	// Another schema in the same database is a separate store.
	other := connect(t, url, freshSchema(t))
	defer other.Close()
	if _, err := other.InstanceState(ctx, "x"); !errors.Is(err, history.ErrNotFound) {
		t.Errorf("another schema sees the instance: %v", err)
	}
	// DropSchema drops it all.
	if err := s.DropSchema(ctx); err != nil {
		t.Fatal(err)
	}
	db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists)
	if exists {
		t.Errorf("schema %s survived DropSchema", schema)
	}
}

func TestSchemaTooNew(t *testing.T) {
	url := dbURL(t)
	schema := freshSchema(t)
	s := connect(t, url, schema)
	s.Close()
	if _, err := admin(t).Exec(`INSERT INTO `+quoteIdent(schema)+`.schema_version (version, applied_at) VALUES ($1, 0)`, len(migrations)+5); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	_, err := ConnectWithSchema(ctx, url, schema)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), fmt.Sprintf("version %d", len(migrations)+5)) {
		t.Fatalf("Connect to a newer schema: %v, want ErrSchemaTooNew naming version %d", err, len(migrations)+5)
	}
	if time.Since(began) > 5*time.Second {
		t.Errorf("Connect to a newer schema retried (%v) instead of failing at once", time.Since(began))
	}
}

func TestConcurrentConnect(t *testing.T) {
	url := dbURL(t)
	schema := freshSchema(t)
	const n = 8
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for i := range n {
		wg.Go(func() {
			stores[i], errs[i] = ConnectWithSchema(ctx, url, schema, WithMaxConns(2))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Connect %d: %v", i, err)
		} else {
			defer stores[i].Close()
		}
	}
	if t.Failed() {
		return
	}
	var rows int
	if err := admin(t).QueryRow(`SELECT COUNT(*) FROM ` + quoteIdent(schema) + `.schema_version`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(migrations) {
		t.Errorf("schema_version has %d rows, want %d", rows, len(migrations))
	}
	// All of them work on the same data.
	for i, s := range stores {
		if err := s.CreateInstance(t.Context(), start("i"+strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range stores {
		for i := range n {
			if _, err := s.InstanceState(t.Context(), "i"+strconv.Itoa(i)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestConnectUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 700*time.Millisecond)
	defer cancel()
	began := time.Now()
	s, err := Connect(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
	if err == nil {
		s.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	took := time.Since(began)
	msg := err.Error()
	if !strings.Contains(msg, "database unreachable") || !strings.Contains(msg, "127.0.0.1:1") || !strings.Contains(msg, "connection refused") {
		t.Errorf("error %q does not say clearly that the database at 127.0.0.1:1 is unreachable and why", msg)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap the context's error", err)
	}
	if took < 600*time.Millisecond || took > 3*time.Second {
		t.Errorf("Connect gave up after %v, want about the context's 700ms (it retries until then)", took)
	}
	if n := strings.Count(msg, "attempts"); n != 1 || strings.Contains(msg, "after 1 attempts") {
		t.Errorf("error %q: want several attempts", msg)
	}
}

func TestConnectPermanentFailure(t *testing.T) {
	url := dbURL(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	bad := strings.Replace(url, "/test?", "/no_such_database_duroxide?", 1)
	if bad == url {
		t.Skip("DATABASE_URL does not name the database as /test?: cannot derive an unknown database's URL")
	}
	began := time.Now()
	_, err := ConnectWithSchema(ctx, bad, "x")
	if err == nil || !strings.Contains(err.Error(), "no_such_database_duroxide") {
		t.Fatalf("Connect to an unknown database: %v", err)
	}
	if time.Since(began) > 5*time.Second {
		t.Errorf("Connect to an unknown database retried for %v instead of failing at once", time.Since(began))
	}
}

// Payloads are stored byte for byte: key order, whitespace and escapes survive, and no
// column is jsonb.
func TestPayloadBytesExact(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	const odd = "{\"z\": 1,\n  \"a\" :[ 2 , 1 ],\t\"\\u00e9\":\"<&>\", \"é\": {\"y\":null,\"b\":true}}"
	m := start("a")
	m.Input = json.RawMessage(odd)
	if err := s.CreateInstance(ctx, m); err != nil {
		t.Fatal(err)
	}
	var raw []byte
	if err := admin(t).QueryRowContext(ctx, `SELECT message FROM `+s.quoted+`.orchestrator_queue WHERE instance_id = 'a'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"input":`+odd) {
		t.Errorf("stored message %s does not hold the payload byte for byte", raw)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	if got := string(l.Messages[0].Input); got != odd {
		t.Errorf("fetched input %q, want %q", got, odd)
	}
	started := history.Event{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch", Input: json.RawMessage(odd)}
	if _, err := s.CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{started},
		Status: history.StatusCompleted, Output: json.RawMessage(odd)}); err != nil {
		t.Fatal(err)
	}
	h, err := s.ReadHistory(ctx, "a", 1)
	if err != nil || len(h) != 1 || string(h[0].Input) != odd {
		t.Fatalf("history %v, %v", h, err)
	}
	st, _ := s.InstanceState(ctx, "a")
	if string(st.Output) != odd {
		t.Errorf("output %q, want %q", st.Output, odd)
	}
	var jsonb int
	admin(t).QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = $1 AND data_type IN ('json', 'jsonb')`, s.schema).Scan(&jsonb)
	if jsonb != 0 {
		t.Errorf("%d json/jsonb columns", jsonb)
	}
}

func recv(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// settle waits for stray notifications to arrive, then drains the channels.
func settle(chs ...<-chan struct{}) {
	time.Sleep(100 * time.Millisecond)
	for _, ch := range chs {
		drain(ch)
	}
}

// A second Store connected separately stands for another process: it learns of work
// through NOTIFY, which is sent when a queue goes from empty to non-empty.
func TestCrossProcessWakeUp(t *testing.T) {
	url := dbURL(t)
	ctx := t.Context()
	schema := freshSchema(t)
	a := connect(t, url, schema)
	defer a.Close()
	b := connect(t, url, schema)
	defer b.Close()
	const wait = 5 * time.Second
	orch, work := b.OrchestratorWork(), b.WorkerWork()
	settle(orch, work)

	if err := a.CreateInstance(ctx, start("x")); err != nil {
		t.Fatal(err)
	}
	if !recv(orch, wait) {
		t.Fatal("CreateInstance in one store did not wake the other's OrchestratorWork")
	}
	settle(orch)
	// The queue is not empty (x is fetchable): no NOTIFY.
	if err := a.CreateInstance(ctx, start("y")); err != nil {
		t.Fatal(err)
	}
	if recv(orch, 300*time.Millisecond) {
		t.Error("a second message to a non-empty queue sent a NOTIFY")
	}
	lx, err := b.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || lx == nil {
		t.Fatal(lx, err)
	}
	ly, err := b.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || ly == nil {
		t.Fatal(ly, err)
	}
	settle(orch)
	// Both instances locked: nothing fetchable, so a message wakes the other store.
	if err := a.SendMessage(ctx, history.Message{Kind: history.MsgExternalRaised, Instance: "x", Name: "e"}); err != nil {
		t.Fatal(err)
	}
	if recv(orch, 300*time.Millisecond) {
		t.Error("a message for a locked instance sent a NOTIFY")
	}
	if err := a.CreateInstance(ctx, start("z")); err != nil {
		t.Fatal(err)
	}
	if !recv(orch, wait) {
		t.Fatal("a message that made the queue fetchable did not wake the other store")
	}

	// Activities and instance changes, committed by b, wake a's worker and watcher.
	aWork := a.WorkerWork()
	changed, stop := a.WatchInstance("y")
	defer stop()
	settle(aWork, changed)
	started := history.Event{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}
	if _, err := b.CommitOrchestration(ctx, ly.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{started},
		Status: history.StatusCompleted, Output: json.RawMessage(`"done"`)}); err != nil {
		t.Fatal(err)
	}
	if !recv(changed, wait) {
		t.Error("a completion committed by another store did not signal WatchInstance")
	}
	if _, err := b.CommitOrchestration(ctx, lx.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{started,
		{EventID: 2, Kind: history.ActivityScheduled, Name: "A"}}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{{Instance: "x", ExecutionID: 1, ID: 2, Name: "A"}}}); err != nil {
		t.Fatal(err)
	}
	if !recv(aWork, wait) {
		t.Error("activities committed by another store did not wake WorkerWork")
	}
}

// Several stores on one schema (several processes) never hold one instance at a time
// and deliver every message once.
func TestTwoStoresFetchExclusive(t *testing.T) {
	url := dbURL(t)
	ctx := t.Context()
	schema := freshSchema(t)
	stores := []*Store{connect(t, url, schema, WithMaxConns(4)), connect(t, url, schema, WithMaxConns(4))}
	for _, s := range stores {
		defer s.Close()
	}
	const instances, perInstance = 30, 4
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
	deadline := time.Now().Add(20 * time.Second)
	var wg sync.WaitGroup
	for g := range 8 {
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
				time.Sleep(time.Millisecond)
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

	// Activities: many fetchers over both stores take each once.
	l, err := stores[0].FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l != nil {
		t.Fatalf("queue not empty: %+v, %v", l, err)
	}
	if err := stores[0].CreateInstance(ctx, start("act")); err != nil {
		t.Fatal(err)
	}
	l, _ = stores[0].FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	var works []history.ActivityWork
	for i := range 60 {
		works = append(works, history.ActivityWork{Instance: "act", ExecutionID: 1, ID: uint64(i + 1), Name: "A"})
	}
	if _, err := stores[0].CommitOrchestration(ctx, l.LockToken, history.Commit{ExecutionID: 1, Activities: works}); err != nil {
		t.Fatal(err)
	}
	var seen sync.Map
	var count atomic.Int64
	for g := range 8 {
		s := stores[g%2]
		wg.Go(func() {
			for {
				a, err := s.FetchActivity(ctx, history.FetchActivityRequest{LockTimeout: time.Minute})
				if err != nil {
					t.Errorf("FetchActivity: %v", err)
					return
				}
				if a == nil {
					return
				}
				if _, dup := seen.LoadOrStore(a.Work.ID, true); dup {
					t.Errorf("activity %d fetched twice", a.Work.ID)
				}
				count.Add(1)
				if err := s.CompleteActivity(ctx, a.LockToken, nil); err != nil {
					t.Errorf("CompleteActivity: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if count.Load() != 60 {
		t.Errorf("%d activities fetched, want 60", count.Load())
	}
}

// Connections killed under the store (a database restart, a failover) give retryable
// errors at worst, the pool reconnects, and the listener reconnects by itself.
func TestSurvivesTerminatedConnections(t *testing.T) {
	base := dbURL(t)
	app := "duroxide_pgtest_" + newToken()[:8]
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	url := base + sep + "application_name=" + app
	ctx := t.Context()
	schema := freshSchema(t)
	a := connect(t, url, schema)
	defer a.Close()
	b := connect(t, base, schema)
	defer b.Close()
	if err := a.CreateInstance(ctx, start("before")); err != nil {
		t.Fatal(err)
	}

	var killed int
	if err := admin(t).QueryRowContext(ctx, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 2 {
		t.Fatalf("terminated %d backends, want the pool's and the listener's", killed)
	}
	// Calls recover; any failure on the way is retryable.
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := a.InstanceState(ctx, "before")
		if err == nil {
			break
		}
		if !history.IsRetryable(err) {
			t.Fatalf("InstanceState after the connections died: %v, want a retryable error", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The listener is back: b's writes wake a again.
	orch := a.OrchestratorWork()
	deadline = time.Now().Add(15 * time.Second)
	l, err := a.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	for i := 0; ; i++ {
		settle(orch)
		id := "after" + strconv.Itoa(i)
		if err := b.CreateInstance(ctx, start(id)); err != nil {
			t.Fatal(err)
		}
		if recv(orch, time.Second) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not reconnect: no notification after the connections died")
		}
		// Keep the queue empty so that the next create notifies.
		lb, err := b.FetchOrchestration(ctx, history.FetchOrchestrationRequest{})
		if err != nil || lb == nil {
			t.Fatal(lb, err)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{&pq.Error{Code: "40001"}, true},
		{&pq.Error{Code: "40P01"}, true},
		{&pq.Error{Code: "57P01"}, true},
		{&pq.Error{Code: "57P03"}, true},
		{&pq.Error{Code: "08006"}, true},
		{&pq.Error{Code: "53300"}, true},
		{&pq.Error{Code: "55P03"}, true},
		{&pq.Error{Code: "23505"}, false},
		{&pq.Error{Code: "23503"}, false},
		{&pq.Error{Code: "22P02"}, false},
		{&pq.Error{Code: "42P01"}, false},
		{fmt.Errorf("x: %w", &pq.Error{Code: "40P01"}), true},
		{corrupt("bad row"), false},
		{history.ErrCodec, false},
		{context.Canceled, false},
		{context.DeadlineExceeded, true},
		{errors.New("driver: bad connection"), false},
	} {
		err := wrap(ctx, "Op", tc.err)
		var se *history.StoreError
		if !errors.As(err, &se) || se.Op != "Op" || se.Retryable != tc.retryable || !errors.Is(err, tc.err) {
			t.Errorf("wrap(%v) = %#v, want a StoreError with Retryable %v", tc.err, err, tc.retryable)
		}
	}
	for _, sentinel := range []error{history.ErrNotFound, history.ErrAlreadyExists, history.ErrLockLost} {
		if err := wrap(ctx, "Op", sentinel); err != sentinel {
			t.Errorf("wrap(%v) = %v, want it unchanged", sentinel, err)
		}
	}
	if !retryable(sql.ErrConnDone) {
		t.Error("sql.ErrConnDone is not retryable")
	}

	// A real duplicate event id is a non-retryable constraint error.
	s := openStore(t)
	if err := s.CreateInstance(t.Context(), start("a")); err != nil {
		t.Fatal(err)
	}
	l, _ := s.FetchOrchestration(t.Context(), history.FetchOrchestrationRequest{})
	ev := history.Event{EventID: 1, Kind: history.OrchestrationStarted}
	_, err := s.CommitOrchestration(t.Context(), l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{ev, ev}})
	var se *history.StoreError
	if !errors.As(err, &se) || se.Retryable || pq.As(err, "23505") == nil {
		t.Fatalf("duplicate event: %v, want a non-retryable unique-violation StoreError", err)
	}
	if err := s.CreateInstance(t.Context(), history.Message{Kind: history.MsgExternalRaised, Instance: "z"}); !errors.As(err, &se) || se.Retryable {
		t.Errorf("CreateInstance with a non-start message: %v", err)
	}
}

func TestCancelDuringFetch(t *testing.T) {
	s := openStore(t)
	if err := s.CreateInstance(t.Context(), start("a")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	_, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{
		HistoryAfter: func(string, uint64) uint64 { calls++; cancel(); return 0 },
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("fetch with a context cancelled mid-transaction: %v, want context.Canceled", err)
	}
	if calls != 1 {
		t.Errorf("HistoryAfter called %d times, want once", calls)
	}
	l, err := s.FetchOrchestration(t.Context(), history.FetchOrchestrationRequest{})
	if err != nil || l == nil || l.Attempt != 1 {
		t.Fatalf("the cancelled fetch was not rolled back: %+v, %v", l, err)
	}
}

func TestCorruptRows(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	db := admin(t)
	for _, id := range []string{"a", "b"} {
		if err := s.CreateInstance(ctx, start(id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE `+s.quoted+`.orchestrator_queue SET message = 'garbage' WHERE instance_id = 'a'`); err != nil {
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
	c := history.Commit{ExecutionID: 1, Status: history.StatusRunning, Delta: []history.Event{
		{EventID: 1, Kind: history.OrchestrationStarted, Name: "Orch"}, {EventID: 2, Kind: history.TimerCreated, FireAtMs: 5}},
		Activities: []history.ActivityWork{{Instance: "b", ExecutionID: 1, ID: 1, Name: "A"}, {Instance: "b", ExecutionID: 1, ID: 2, Name: "B"}}}
	if _, err := s.CommitOrchestration(ctx, lb.LockToken, c); err != nil {
		t.Fatal(err)
	}
	db.ExecContext(ctx, `UPDATE `+s.quoted+`.history SET data = '{"v":1,"id":2,"type":"NoSuchKind"}' WHERE event_id = 2`)
	_, err = s.ReadHistory(ctx, "b", 1)
	var se *history.StoreError
	if !errors.As(err, &se) || se.Retryable || !errors.Is(err, history.ErrCodec) {
		t.Fatalf("ReadHistory of a corrupt row: %v, want a non-retryable StoreError wrapping ErrCodec", err)
	}
	db.ExecContext(ctx, `UPDATE `+s.quoted+`.worker_queue SET message = 'garbage' WHERE activity_id = 1`)
	bad, err := s.FetchActivity(ctx, history.FetchActivityRequest{})
	if err != nil || bad == nil || !errors.As(bad.WorkErr, &se) || se.Retryable ||
		bad.Work.Instance != "b" || bad.Work.ExecutionID != 1 || bad.Work.ID != 1 || bad.LockToken == "" {
		t.Fatalf("FetchActivity of a corrupt row: %+v, %v; want a lease with a non-retryable WorkErr", bad, err)
	}
	al, err := s.FetchActivity(ctx, history.FetchActivityRequest{})
	if err != nil || al == nil || al.Work.ID != 2 {
		t.Fatalf("a corrupt activity blocks the next: %+v, %v", al, err)
	}
}

func TestWatchInstanceDoesNotLeak(t *testing.T) {
	s := openStore(t)
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
}

// Timestamps come from the database's clock.
func TestDatabaseClock(t *testing.T) {
	ctx := t.Context()
	s := openStore(t)
	var before, after int64
	admin(t).QueryRowContext(ctx, `SELECT `+nowSQL).Scan(&before)
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatal(err)
	}
	admin(t).QueryRowContext(ctx, `SELECT `+nowSQL).Scan(&after)
	st, err := s.InstanceState(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if st.CreatedAtMs < before || st.CreatedAtMs > after {
		t.Errorf("CreatedAtMs %d outside the database's clock [%d, %d]", st.CreatedAtMs, before, after)
	}
}
