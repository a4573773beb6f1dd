package duroxide_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver for writing bad rows by hand

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// Bad input: each case gets a clear error and leaves nothing stored half-way.

// badNames are names and instance ids every client call must refuse.
var badNames = map[string]string{
	"empty":        "",
	"huge":         strings.Repeat("n", duroxide.MaxNameBytes+1),
	"newline":      "a\nb",
	"nul":          "a\x00b",
	"escape":       "a\x1b[31mred",
	"invalid utf8": "a\xffb",
}

// TestInputBadNamesStoreNothing: bad instance ids, orchestration names and event names
// are refused with ErrInvalidInput before anything reaches the store.
func TestInputBadNamesStoreNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, store history.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := duroxide.NewClient(store)
		if err := c.StartOrchestration(ctx, "ok", "O", nil); err != nil {
			t.Fatal(err)
		}
		for what, bad := range badNames {
			calls := map[string]error{
				"start with bad id":       c.StartOrchestration(ctx, bad, "O", nil),
				"start with bad name":     c.StartOrchestration(ctx, "i-"+what, bad, nil),
				"versioned with bad name": c.StartOrchestrationVersioned(ctx, "v-"+what, bad, nil, "1.0.0"),
				"raise to bad id":         c.RaiseEvent(ctx, bad, "e", 1),
				"raise bad event name":    c.RaiseEvent(ctx, "ok", bad, 1),
				"enqueue bad queue name":  c.EnqueueEvent(ctx, "ok", bad, 1),
				"cancel bad id":           c.CancelInstance(ctx, bad, "r"),
			}
			for call, err := range calls {
				if !errors.Is(err, duroxide.ErrInvalidInput) {
					t.Errorf("%s (%s): %v, want ErrInvalidInput", call, what, err)
				}
			}
		}
		ids, err := c.ListAllInstances(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 || ids[0] != "ok" {
			t.Fatalf("instances after refused calls: %q, want only \"ok\"", ids)
		}
		if d, _ := c.GetQueueDepths(ctx); d.OrchestratorQueue != 1 {
			t.Fatalf("orchestrator queue holds %d messages, want only the start of \"ok\"", d.OrchestratorQueue)
		}
		// Registration refuses the same names.
		rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for what, bad := range badNames {
			if err := rt.RegisterActivity(bad, func(*duroxide.ActivityContext, yield.Value) (any, error) { return nil, nil }); !errors.Is(err, duroxide.ErrInvalidInput) {
				t.Errorf("RegisterActivity(%s): %v", what, err)
			}
			if err := rt.RegisterOrchestration(bad, func(*yield.Ctx, yield.Value) (any, error) { return nil, nil }); !errors.Is(err, duroxide.ErrInvalidInput) {
				t.Errorf("RegisterOrchestration(%s): %v", what, err)
			}
		}
	})
}

// TestInputPayloadOverLimit: inputs and events over the payload limit, and values that
// cannot be encoded as JSON, are refused before anything is stored.
func TestInputPayloadOverLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, store history.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := duroxide.NewClient(store).WithMaxPayloadBytes(1024)
		big := strings.Repeat("x", 2000)
		if err := c.StartOrchestration(ctx, "big", "O", big); !errors.Is(err, duroxide.ErrInvalidInput) || !strings.Contains(err.Error(), "limit 1024") {
			t.Fatalf("start with a big input: %v", err)
		}
		if err := c.StartOrchestration(ctx, "chan", "O", make(chan int)); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("start with an input that is not JSON: %v", err)
		}
		if err := c.StartOrchestration(ctx, "ok", "O", "small"); err != nil {
			t.Fatal(err)
		}
		if err := c.RaiseEvent(ctx, "ok", "e", big); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("raise a big event: %v", err)
		}
		if err := c.EnqueueEvent(ctx, "ok", "q", big); !errors.Is(err, duroxide.ErrInvalidInput) {
			t.Fatalf("enqueue a big message: %v", err)
		}
		ids, _ := c.ListAllInstances(ctx)
		if len(ids) != 1 {
			t.Fatalf("instances: %q, want only \"ok\"", ids)
		}
		if d, _ := c.GetQueueDepths(ctx); d.OrchestratorQueue != 1 {
			t.Fatalf("orchestrator queue holds %d messages, want 1", d.OrchestratorQueue)
		}
	})
}

// TestInputVersionsNotSemver: versions that are not semver are refused at registration
// and at start, and nothing is stored.
func TestInputVersionsNotSemver(t *testing.T) {
	eachStore(t, func(t *testing.T, store history.Store) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := duroxide.NewClient(store)
		rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"", "1", "1.0", "v1.0.0", "1.0.0.0", "one", "1.0.0-", "01.0.0", "1.0.0\n"} {
			if err := rt.RegisterOrchestrationVersioned("O", v, func(*yield.Ctx, yield.Value) (any, error) { return nil, nil }); !errors.Is(err, duroxide.ErrInvalidInput) {
				t.Errorf("register version %q: %v, want ErrInvalidInput", v, err)
			}
			if err := c.StartOrchestrationVersioned(ctx, "v", "O", nil, v); !errors.Is(err, duroxide.ErrInvalidInput) {
				t.Errorf("start version %q: %v, want ErrInvalidInput", v, err)
			}
		}
		if ids, _ := c.ListAllInstances(ctx); len(ids) != 0 {
			t.Fatalf("instances: %q, want none", ids)
		}
	})
}

// TestInputMisbehavingOrchestrations: code that returns without yielding works; a nil
// (zero) task, a Yield from a goroutine the code started, and a goroutine that does not
// touch the ctx each end the way the docs say, with a clear error where one is due.
func TestInputMisbehavingOrchestrations(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(opts duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{Logger: reliabilityLogger(t)})
		e.activity("A", func(*duroxide.ActivityContext, yield.Value) (any, error) { return "a", nil })
		e.orchestration("NoYield", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return "never yielded", nil
		})
		e.orchestration("NilTask", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var zero yield.Task
			_, err := ctx.Yield(zero)
			if !errors.Is(err, yield.ErrInvalidTask) {
				return nil, errors.New("zero task did not give ErrInvalidTask")
			}
			return nil, err // fail with the engine's message
		})
		e.orchestration("ForeignYield", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			errc := make(chan error, 1)
			go func() {
				time.Sleep(5 * time.Millisecond) // the code is parked in its own Yield by then
				_, err := ctx.Yield(ctx.ScheduleActivity("A", nil))
				errc <- err
			}()
			if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
				return nil, err
			}
			return nil, <-errc // on replay the goroutine yields while the code waits here
		})
		e.orchestration("Goroutine", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ch := make(chan int)
			go func() { ch <- 6 * 7 }() // computes, never touches ctx: allowed
			v := <-ch
			r, err := ctx.Yield(ctx.ScheduleActivity("A", v))
			if err != nil {
				return nil, err
			}
			return r.String(), nil
		})
		e.start()
		completed(t, e.run("noyield", "NoYield", nil), `"never yielded"`)
		res := e.run("niltask", "NilTask", nil)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindApplication || !strings.Contains(res.Error, "zero Task") {
			t.Errorf("nil task: %s %s %q", res.Status, res.ErrorKind, res.Error)
		}
		res = e.run("foreign", "ForeignYield", nil)
		if res.Status != duroxide.StatusFailed || !strings.Contains(res.Error, "goroutine the orchestration started") {
			t.Errorf("foreign Yield: %s %s %q", res.Status, res.ErrorKind, res.Error)
		}
		completed(t, e.run("goroutine", "Goroutine", nil), `"a"`)
		// Each history ends with its terminal event.
		for _, id := range []string{"noyield", "niltask", "foreign"} {
			events, err := e.client.ReadExecutionHistory(e.ctx, id, 1)
			if err != nil {
				t.Fatal(err)
			}
			if !events[len(events)-1].Kind.IsTerminal() {
				t.Errorf("%s: last event %s is not terminal", id, events[len(events)-1])
			}
		}
	})
}

// TestInputStoreFileNotADatabase: opening a file that is not SQLite fails with a clear
// error and leaves the file untouched.
func TestInputStoreFileNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.db")
	content := []byte("these are my notes, not a database\n" + strings.Repeat("x", 5000))
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.Open(path)
	if err == nil {
		s.Close()
		t.Fatal("Open of a text file succeeded")
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(strings.ToLower(err.Error()), "not a database") {
		t.Fatalf("error %q does not say which file is not a database", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(content) {
		t.Fatal("Open changed the file")
	}
	// A directory in place of the file.
	dir := filepath.Join(t.TempDir(), "dir.db")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if s, err := sqlitestore.Open(dir); err == nil {
		s.Close()
		t.Fatal("Open of a directory succeeded")
	}
}

// TestInputPostgresUnreachableAtStart: connecting to a server that does not answer
// fails, at the caller's deadline, with an error that says the database is unreachable.
func TestInputPostgresUnreachableAtStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	began := time.Now()
	s, err := pgstore.ConnectWithSchema(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=1", "unreachable")
	if err == nil {
		s.Close()
		t.Fatal("Connect to a closed port succeeded")
	}
	if !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("error %q does not say the database is unreachable", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("Connect took %v past a 1.5 s deadline", d)
	}
	if _, err := pgstore.Connect(context.Background(), "this is not a url"); err == nil {
		t.Fatal("Connect with a malformed URL succeeded")
	}
}

// TestInputCorruptRowsFailTheInstance: a history row and a queued message holding bad
// JSON, written by hand into the SQLite file, fail their instances with a clear error
// after the delivery attempts, and other instances carry on.
func TestInputCorruptRowsFailTheInstance(t *testing.T) {
	base := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "corrupt.db")
	store, err := sqlitestore.Open(path, sqlitestore.WithSynchronousNormal())
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvOn(t, store, duroxide.RuntimeOptions{MaxDeliveryAttempts: 2, InstanceCacheSize: -1, Logger: reliabilityLogger(t)})
	wait := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.WaitForEvent("go"))
	}
	e.orchestration("Wait", wait)
	e.start()
	for _, id := range []string{"bad-history", "bad-message", "good"} {
		if err := e.client.StartOrchestration(e.ctx, id, "Wait", nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"bad-history", "bad-message", "good"} {
		waitFor(t, id+" to wait for its event", func() bool {
			h, _ := e.client.ReadExecutionHistory(e.ctx, id, 1)
			return countKind(h, history.ExternalSubscribed) == 1
		})
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE history SET data = '{"v":1,"type":"ExternalSubscribed","name":' WHERE instance_id = 'bad-history' AND event_id = 2`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO orchestrator_queue (instance_id, kind, message, visible_at, created_at) VALUES ('bad-message', 'ExternalRaised', '{not json', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"bad-history", "good"} {
		if err := e.client.RaiseEvent(e.ctx, id, "go", id); err != nil {
			t.Fatal(err)
		}
	}
	completed(t, e.wait("good"), `"good"`)
	for _, id := range []string{"bad-history", "bad-message"} {
		res := e.wait(id)
		if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindPoison || !strings.Contains(res.Error, "deserialization failed") {
			t.Errorf("%s: %s %s %q, want a poison failure naming the deserialization", id, res.Status, res.ErrorKind, res.Error)
		}
	}
	if err := e.rt.Shutdown(5 * time.Second); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if err := store.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	waitGoroutines(t, base)
}

// TestInputCorruptActivityRowFailsTheInstance: an activity row holding bad JSON, written
// by hand into the SQLite file, is fetched like any activity and failed as poison, so its
// orchestration fails with a clear error instead of waiting forever.
func TestInputCorruptActivityRowFailsTheInstance(t *testing.T) {
	base := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "corrupt-activity.db")
	store, err := sqlitestore.Open(path, sqlitestore.WithSynchronousNormal())
	if err != nil {
		t.Fatal(err)
	}
	// The orchestrating runtime serves no "offline" activities, so the row waits in the
	// queue until it has been corrupted; a second, worker-only runtime then takes it.
	e := newEnvOn(t, store, duroxide.RuntimeOptions{Logger: reliabilityLogger(t)})
	e.orchestration("Offline", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleActivity("Echo", "x").WithTag("offline"))
	})
	e.start()
	if err := e.client.StartOrchestration(e.ctx, "bad-activity", "Offline", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the activity to be scheduled", func() bool {
		h, _ := e.client.ReadExecutionHistory(e.ctx, "bad-activity", 1)
		return countKind(h, history.ActivityScheduled) == 1
	})
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := db.Exec(`UPDATE worker_queue SET message = '{"v":1,"name":' WHERE instance_id = 'bad-activity'`); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("corrupted %d worker rows, want 1", n)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	worker := newEnvOn(t, store, duroxide.RuntimeOptions{OrchestrationConcurrency: -1, WorkerTagFilter: duroxide.AnyTag(), Logger: reliabilityLogger(t)})
	worker.activity("Echo", echo)
	worker.start()
	res := e.wait("bad-activity")
	if res.Status != duroxide.StatusFailed || res.ErrorKind != duroxide.ErrorKindPoison || !strings.Contains(res.Error, "deserialization failed") {
		t.Errorf("%s %s %q, want a poison failure naming the deserialization", res.Status, res.ErrorKind, res.Error)
	}
	for _, rt := range []*duroxide.Runtime{worker.rt, e.rt} {
		if err := rt.Shutdown(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	if err := store.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	waitGoroutines(t, base)
}
