package integration_test

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/testenv"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// stores lists the stores every scenario runs on: in-memory SQLite always, once with the
// instance cache and once without it ("sqlite-replay": every turn replays the history,
// which catches replay bugs the cache hides), and PostgreSQL too when DATABASE_URL names
// a server (CI sets it).
var stores = func() []string {
	kinds := []string{"sqlite", "sqlite-replay"}
	if os.Getenv("DATABASE_URL") != "" {
		kinds = append(kinds, "postgres")
	}
	return kinds
}()

// pollInterval is the dispatcher poll interval of the Python suite's helper.
const pollInterval = 50 * time.Millisecond

// scenario is one ported test on one store: the store, a client on it, and the runtimes
// the test made (shut down at the end).
type scenario struct {
	t      *testing.T
	kind   string
	store  history.Store
	client *duroxide.Client
	ctx    context.Context

	mu       sync.Mutex
	runtimes []*duroxide.Runtime
}

// eachStore runs body once per store kind as a subtest, checking at the end that the
// runtimes and the store left no goroutine behind.
func eachStore(t *testing.T, body func(t *testing.T, s *scenario)) {
	t.Helper()
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			base := runtime.NumGoroutine()
			store := openStore(t, kind)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			s := &scenario{t: t, kind: kind, store: store, client: duroxide.NewClient(store), ctx: ctx}
			defer func() {
				s.shutdownAll()
				cancel()
				if err := store.Close(); err != nil {
					t.Errorf("closing store: %v", err)
				}
				testenv.WaitGoroutines(t, base)
			}()
			body(t, s)
		})
	}
}

func openStore(t *testing.T, kind string) history.Store {
	t.Helper()
	switch kind {
	case "sqlite", "sqlite-replay":
		s, err := sqlitestore.InMemory()
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		return s
	case "postgres":
		s, _, _ := testenv.Postgres(t, "it")
		return s
	}
	t.Fatalf("unknown store kind %q", kind)
	return nil
}

// uid is the Python suite's uid(name): the instance id of a test's instance. Every
// scenario has a store of its own, so the name alone is unique.
func uid(name string) string { return name }

// runtime makes a runtime on the scenario's store with the Python helper's defaults
// (50 ms polling) under opts; the test registers its code and calls start.
func (s *scenario) runtime(opts duroxide.RuntimeOptions) *duroxide.Runtime {
	s.t.Helper()
	if opts.DispatcherPollInterval == 0 {
		opts.DispatcherPollInterval = pollInterval
	}
	if s.kind == "sqlite-replay" && opts.InstanceCacheSize == 0 {
		opts.InstanceCacheSize = -1
	}
	if opts.Logger == nil {
		l := zerolog.New(zerolog.NewTestWriter(s.t)).Level(zerolog.WarnLevel)
		opts.Logger = &l
	}
	rt, err := duroxide.NewRuntime(s.store, opts)
	if err != nil {
		s.t.Fatalf("NewRuntime: %v", err)
	}
	s.mu.Lock()
	s.runtimes = append(s.runtimes, rt)
	s.mu.Unlock()
	return rt
}

// start starts rt.
func (s *scenario) start(rt *duroxide.Runtime) {
	s.t.Helper()
	if err := rt.Start(s.ctx); err != nil {
		s.t.Fatalf("Runtime.Start: %v", err)
	}
}

// shutdown stops rt (Python: rt.shutdown(100)); shutting down twice is harmless.
func (s *scenario) shutdown(rt *duroxide.Runtime) {
	s.t.Helper()
	if err := rt.Shutdown(5 * time.Second); err != nil {
		s.t.Errorf("Runtime.Shutdown: %v", err)
	}
}

func (s *scenario) shutdownAll() {
	s.mu.Lock()
	rts := s.runtimes
	s.mu.Unlock()
	for _, rt := range rts {
		_ = rt.Shutdown(5 * time.Second)
	}
}

// activity registers an activity on rt, failing the test on error.
func activity(t *testing.T, rt *duroxide.Runtime, name string, fn duroxide.Activity) {
	t.Helper()
	if err := rt.RegisterActivity(name, fn); err != nil {
		t.Fatalf("RegisterActivity(%q): %v", name, err)
	}
}

// orchestration registers an orchestration on rt, failing the test on error.
func orchestration(t *testing.T, rt *duroxide.Runtime, name string, fn yield.Orchestration) {
	t.Helper()
	if err := rt.RegisterOrchestration(name, fn); err != nil {
		t.Fatalf("RegisterOrchestration(%q): %v", name, err)
	}
}

// startOrch starts an instance, failing the test on error.
func (s *scenario) startOrch(id, name string, input any) {
	s.t.Helper()
	if err := s.client.StartOrchestration(s.ctx, id, name, input); err != nil {
		s.t.Fatalf("StartOrchestration(%q, %q): %v", id, name, err)
	}
}

// wait waits for id to finish (Python: wait_for_orchestration(id, timeout)).
func (s *scenario) wait(id string, timeout time.Duration) duroxide.OrchestrationResult {
	s.t.Helper()
	res, err := s.client.WaitForOrchestration(s.ctx, id, timeout)
	if err != nil {
		s.t.Fatalf("WaitForOrchestration(%q): %v", id, err)
	}
	return res
}

// run starts id and waits up to 10 s for it (the Python helper's wait).
func (s *scenario) run(id, name string, input any) duroxide.OrchestrationResult {
	s.t.Helper()
	s.startOrch(id, name, input)
	return s.wait(id, 10*time.Second)
}

// raise raises an event, failing the test on error.
func (s *scenario) raise(id, event string, data any) {
	s.t.Helper()
	if err := s.client.RaiseEvent(s.ctx, id, event, data); err != nil {
		s.t.Fatalf("RaiseEvent(%q, %q): %v", id, event, err)
	}
}

// enqueue enqueues a queue message, failing the test on error.
func (s *scenario) enqueue(id, queue string, data any) {
	s.t.Helper()
	if err := s.client.EnqueueEvent(s.ctx, id, queue, data); err != nil {
		s.t.Fatalf("EnqueueEvent(%q, %q): %v", id, queue, err)
	}
}

// mustComplete fails the test unless res completed, and returns its output decoded
// into T (numbers in an `any` stay json.Number so ints stay ints).
func mustComplete[T any](t *testing.T, res duroxide.OrchestrationResult) T {
	t.Helper()
	if res.Status != duroxide.StatusCompleted {
		t.Fatalf("status %s (%s: %s), want Completed", res.Status, res.ErrorKind, res.Error)
	}
	v, err := duroxide.OutputAs[T](res)
	if err != nil {
		t.Fatalf("decoding output %s: %v", res.Output.Raw(), err)
	}
	return v
}

// mustFail fails the test unless res failed, and returns its error text.
func mustFail(t *testing.T, res duroxide.OrchestrationResult) string {
	t.Helper()
	if res.Status != duroxide.StatusFailed {
		t.Fatalf("status %s (output %s), want Failed", res.Status, res.Output.Raw())
	}
	return res.Error
}

// equal fails the test with a diff unless got equals want.
func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// contains fails the test unless s contains sub.
func contains(t *testing.T, what, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%s = %q, want it to contain %q", what, s, sub)
	}
}

// jsonOf renders v as compact JSON, for assertions on dynamic values.
func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return string(b)
}

// eventually polls cond every few milliseconds until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
