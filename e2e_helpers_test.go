package duroxide_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/testenv"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// env is one end-to-end test environment: a store, a runtime on it and a client.
type env struct {
	t      *testing.T
	store  history.Store
	rt     *duroxide.Runtime
	client *duroxide.Client
	ctx    context.Context
}

// storeKinds are the stores every end-to-end test runs on: PostgreSQL too when
// DATABASE_URL names a server (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable).
var storeKinds = func() []string {
	kinds := []string{"sqlite-mem", "sqlite-file"}
	if os.Getenv("DATABASE_URL") != "" {
		kinds = append(kinds, "postgres")
	}
	return kinds
}()

// cacheModes: every end-to-end test runs with the instance cache on and off (full replay
// every turn), which catches replay bugs cheaply.
var cacheModes = []struct {
	name string
	size int
}{{"cache", 0}, {"replay", -1}}

// eachMode runs f once per store kind and cache mode.
func eachMode(t *testing.T, f func(t *testing.T, newEnv func(opts duroxide.RuntimeOptions) *env)) {
	for _, kind := range storeKinds {
		for _, mode := range cacheModes {
			t.Run(kind+"/"+mode.name, func(t *testing.T) {
				base := runtime.NumGoroutine()
				store := openStore(t, kind)
				var envs []*env
				f(t, func(opts duroxide.RuntimeOptions) *env {
					if opts.InstanceCacheSize == 0 {
						opts.InstanceCacheSize = mode.size
					}
					e := newEnvOn(t, store, opts)
					envs = append(envs, e)
					return e
				})
				for _, e := range envs {
					_ = e.rt.Shutdown(5 * time.Second)
				}
				if err := store.Close(); err != nil {
					t.Errorf("closing store: %v", err)
				}
				waitGoroutines(t, base)
			})
		}
	}
}

func openStore(t *testing.T, kind string) history.Store {
	t.Helper()
	var (
		s   history.Store
		err error
	)
	switch kind {
	case "sqlite-mem":
		s, err = sqlitestore.InMemory()
	case "sqlite-file":
		s, err = sqlitestore.Open(filepath.Join(t.TempDir(), "db", "duroxide.db"), sqlitestore.WithSynchronousNormal())
	case "postgres":
		s, _, _ = testenv.Postgres(t, "e2e")
	default:
		t.Fatalf("unknown store kind %q", kind)
	}
	if err != nil {
		t.Fatalf("open %s store: %v", kind, err)
	}
	return s
}

// newEnvOn makes a runtime (not started) and a client on store. Tests register their
// code on e.rt and call e.start().
func newEnvOn(t *testing.T, store history.Store, opts duroxide.RuntimeOptions) *env {
	t.Helper()
	if opts.DispatcherPollInterval == 0 {
		opts.DispatcherPollInterval = 20 * time.Millisecond
	}
	if opts.Logger == nil {
		l := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
		opts.Logger = &l
	}
	rt, err := duroxide.NewRuntime(store, opts)
	if err != nil {
		t.Fatalf("NewRuntime: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, store: store, rt: rt, client: duroxide.NewClient(store), ctx: ctx}
}

func (e *env) start() *env {
	e.t.Helper()
	if err := e.rt.Start(e.ctx); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	return e
}

func (e *env) activity(name string, fn duroxide.Activity) {
	e.t.Helper()
	if err := e.rt.RegisterActivity(name, fn); err != nil {
		e.t.Fatalf("RegisterActivity(%q): %v", name, err)
	}
}

func (e *env) orchestration(name string, fn yield.Orchestration) {
	e.t.Helper()
	if err := e.rt.RegisterOrchestration(name, fn); err != nil {
		e.t.Fatalf("RegisterOrchestration(%q): %v", name, err)
	}
}

// run starts an instance and waits for it to finish.
func (e *env) run(id, name string, input any) duroxide.OrchestrationResult {
	e.t.Helper()
	if err := e.client.StartOrchestration(e.ctx, id, name, input); err != nil {
		e.t.Fatalf("StartOrchestration(%q): %v", id, err)
	}
	return e.wait(id)
}

func (e *env) wait(id string) duroxide.OrchestrationResult {
	e.t.Helper()
	res, err := e.client.WaitForOrchestration(e.ctx, id, 30*time.Second)
	if err != nil {
		e.t.Fatalf("WaitForOrchestration(%q): %v", id, err)
	}
	return res
}

// completed fails unless res completed with output JSON want.
func completed(t *testing.T, res duroxide.OrchestrationResult, want string) {
	t.Helper()
	if res.Status != duroxide.StatusCompleted {
		t.Fatalf("status %s (%s: %s), want Completed", res.Status, res.ErrorKind, res.Error)
	}
	if got := string(res.Output.Raw()); got != want {
		t.Fatalf("output %s, want %s", got, want)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func waitGoroutines(t *testing.T, base int) { t.Helper(); testenv.WaitGoroutines(t, base) }
