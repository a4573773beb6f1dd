package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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

// fixture is one store with a runtime running on it (so that instances progress) and
// the global flags that point the CLI at the same store.
type fixture struct {
	t      *testing.T
	kind   string
	global []string
	client *duroxide.Client
	ctx    context.Context
}

// storeKinds are the stores every CLI test runs on: a SQLite file, and PostgreSQL
// (a fresh schema per test) when DATABASE_URL is set.
func storeKinds() []string {
	kinds := []string{"sqlite"}
	if os.Getenv("DATABASE_URL") != "" {
		kinds = append(kinds, "postgres")
	}
	return kinds
}

// eachStore runs f on a fresh store of each kind with the test orchestrations running.
func eachStore(t *testing.T, f func(t *testing.T, fx *fixture)) {
	for _, kind := range storeKinds() {
		t.Run(kind, func(t *testing.T) {
			f(t, newFixture(t, kind))
		})
	}
}

func newFixture(t *testing.T, kind string) *fixture {
	t.Helper()
	t.Setenv("DUROXIDE_DB", "")
	t.Setenv("DUROXIDE_PG", "")
	t.Setenv("DUROXIDE_SCHEMA", "")
	base := runtime.NumGoroutine()
	t.Cleanup(func() { testenv.WaitGoroutines(t, base) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	fx := &fixture{t: t, kind: kind, ctx: ctx}
	var store history.Store
	switch kind {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "cli.db")
		s, err := sqlitestore.Open(path, sqlitestore.WithSynchronousNormal())
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		store, fx.global = s, []string{"-db", path}
	case "postgres":
		s, url, schema := testenv.Postgres(t, "cli")
		store, fx.global = s, []string{"-pg", url, "-schema", schema}
	}
	l := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond, Logger: &l})
	if err != nil {
		t.Fatal(err)
	}
	register(t, rt)
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rt.Shutdown(10 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if c, ok := store.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		}
	})
	fx.client = duroxide.NewClient(store)
	return fx
}

// register adds the test orchestrations and activities.
func register(t *testing.T, rt *duroxide.Runtime) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rt.RegisterActivity("Hello", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		return "Hello, " + in.String() + "!", nil
	}))
	must(rt.RegisterOrchestration("Greet", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleActivity("Hello", in))
	}))
	must(rt.RegisterOrchestration("Approval", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		ctx.SetCustomStatus("waiting")
		ctx.SetKVValue("owner", "ops")
		ctx.SetKVValue("stage", "waiting")
		ev, err := ctx.Yield(ctx.WaitForEvent("approve"))
		if err != nil {
			return nil, err
		}
		ctx.SetKVValue("stage", "approved")
		msg, err := ctx.Yield(ctx.DequeueEvent("inbox"))
		if err != nil {
			return nil, err
		}
		return map[string]any{"approval": ev, "message": msg}, nil
	}))
	must(rt.RegisterOrchestration("Forever", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		return ctx.Yield(ctx.WaitForEvent("never"))
	}))
	must(rt.RegisterOrchestration("Fail", func(*yield.Ctx, yield.Value) (any, error) {
		return nil, errors.New("boom")
	}))
	must(rt.RegisterOrchestration("Parent", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		return ctx.Yield(ctx.All(ctx.ScheduleSubOrchestration("Greet", "a"), ctx.ScheduleSubOrchestration("Greet", "b")))
	}))
	must(rt.RegisterOrchestration("Counter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		if n < 3 {
			return ctx.Yield(ctx.ContinueAsNew(n + 1))
		}
		return n, nil
	}))
}

// result is what one CLI run gave.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs the CLI in-process with args as the whole command line.
func runCLI(ctx context.Context, terminal bool, args ...string) result {
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb, terminal)
	return result{code, out.String(), errb.String()}
}

// cli runs a command against the fixture's store.
func (fx *fixture) cli(args ...string) result {
	return runCLI(fx.ctx, false, append(append([]string{}, fx.global...), args...)...)
}

// ok runs a command that must succeed and returns its stdout.
func (fx *fixture) ok(args ...string) string {
	fx.t.Helper()
	r := fx.cli(args...)
	if r.code != ExitOK {
		fx.t.Fatalf("duroxide %s: want exit 0, got %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs a command that must end with code and a message containing want; it
// returns the run.
func (fx *fixture) fails(code int, want string, args ...string) result {
	fx.t.Helper()
	r := fx.cli(args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		fx.t.Fatalf("duroxide %s: want exit %d with %q on stderr, got %s", strings.Join(args, " "), code, want, r)
	}
	return r
}

// okJSON runs a command that must succeed and decodes its stdout into v.
func (fx *fixture) okJSON(v any, args ...string) {
	fx.t.Helper()
	out := fx.ok(args...)
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		fx.t.Fatalf("duroxide %s: stdout is not the documented JSON (%v):\n%s", strings.Join(args, " "), err, out)
	}
}

// keysOf decodes a JSON object and returns its keys, sorted.
func keysOf(t *testing.T, text string) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("not a JSON object (%v): %s", err, text)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// instanceKeys are the documented fields of an instance object.
var instanceKeys = []string{"created_at_ms", "custom_status", "custom_status_version", "error", "error_kind",
	"execution_id", "instance_id", "name", "output", "parent_instance_id", "status", "updated_at_ms", "version"}

func (fx *fixture) waitDone(id string) duroxide.OrchestrationResult {
	fx.t.Helper()
	res, err := fx.client.WaitForOrchestration(fx.ctx, id, time.Minute)
	if err != nil {
		fx.t.Fatalf("wait for %s: %v", id, err)
	}
	return res
}

func TestStartStatusWait(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		if out := fx.ok("start", "Greet", "-id", "g1", "-input", `"world"`); out != "g1\n" {
			t.Fatalf("start printed %q", out)
		}
		var w instanceJSON
		fx.okJSON(&w, "wait", "g1", "-timeout", "60s", "-json")
		if w.Status != "Completed" || string(w.Output) != `"Hello, world!"` || w.Name != "Greet" || w.Version != "1.0.0" || w.ExecutionID != 1 {
			t.Fatalf("wait -json: %+v", w)
		}
		text := fx.ok("status", "g1")
		for _, want := range []string{"instance       g1", "status         Completed", `output         "Hello, world!"`, "orchestration  Greet 1.0.0"} {
			if !strings.Contains(text, want) {
				t.Errorf("status text lacks %q:\n%s", want, text)
			}
		}
		if d := cmp.Diff(instanceKeys, keysOf(t, fx.ok("status", "g1", "-json"))); d != "" {
			t.Errorf("status -json keys (-want +got):\n%s", d)
		}

		// Flags before the name, a generated id, -json, a pinned version.
		if out := fx.ok("start", "-id", "g2", "-input", `"flags"`, "Greet"); out != "g2\n" {
			t.Fatalf("start with flags first printed %q", out)
		}
		gen := strings.TrimSpace(fx.ok("start", "Greet", "-input", `"anon"`))
		if len(gen) != 36 || strings.Count(gen, "-") != 4 {
			t.Fatalf("generated id %q is not a UUID", gen)
		}
		var started struct {
			InstanceID string `json:"instance_id"`
		}
		fx.okJSON(&started, "start", "Greet", "-json", "-version", "1.0.0", "-input", `{ "spaced" : 1 }`)
		for _, id := range []string{"g2", gen, started.InstanceID} {
			if res := fx.waitDone(id); res.Status != duroxide.StatusCompleted {
				t.Fatalf("%s: %+v", id, res)
			}
		}
		if res := fx.waitDone(started.InstanceID); string(res.Output.Raw()) != `"Hello, {\"spaced\":1}!"` {
			t.Fatalf("input was not compacted JSON: %s", res.Output.Raw())
		}

		fx.fails(ExitFailed, `instance "g1" already exists`, "start", "Greet", "-id", "g1")
		fx.fails(ExitUsage, "-input is not valid JSON", "start", "Greet", "-input", "world")
		fx.fails(ExitUsage, "invalid input", "start", "Greet", "-version", "one")
		fx.fails(ExitUsage, "start needs NAME", "start")
		fx.fails(ExitNotFound, `no instance "nobody"`, "status", "nobody")
		fx.fails(ExitNotFound, `no instance "nobody"`, "wait", "nobody")

		// A failed instance: wait prints its status and exits 1.
		fx.ok("start", "Fail", "-id", "f1")
		r := fx.fails(ExitFailed, `instance "f1" failed: boom`, "wait", "f1", "-timeout", "60s")
		if !strings.Contains(r.stdout, "status         Failed") || !strings.Contains(r.stdout, "error          boom (application)") {
			t.Fatalf("wait on a failed instance:\n%s", r)
		}
	})
}

func TestWaitTimeout(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Forever", "-id", "w1")
		r := fx.fails(ExitTimeout, `instance "w1" still running after 200ms`, "wait", "w1", "-timeout", "200ms")
		if r.stdout != "" {
			t.Fatalf("a timed-out wait printed %q", r.stdout)
		}
		fx.fails(ExitUsage, "-timeout must not be negative", "wait", "w1", "-timeout", "-1s")
		fx.fails(ExitUsage, "invalid value", "wait", "w1", "-timeout", "soon")
	})
}

func TestRaiseEnqueueKV(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Approval", "-id", "a1")
		if _, err := fx.client.WaitForKVValue(fx.ctx, "a1", "stage", time.Minute); err != nil {
			t.Fatal(err)
		}
		if got := fx.ok("kv", "a1"); got != "owner  ops\nstage  waiting\n" {
			t.Fatalf("kv a1:\n%s", got)
		}
		if got := fx.ok("kv", "a1", "stage"); got != "waiting\n" {
			t.Fatalf("kv a1 stage: %q", got)
		}
		var all kvJSON
		fx.okJSON(&all, "kv", "a1", "-json")
		if d := cmp.Diff(kvJSON{InstanceID: "a1", Values: map[string]string{"owner": "ops", "stage": "waiting"}}, all); d != "" {
			t.Fatalf("kv -json (-want +got):\n%s", d)
		}
		var one kvKeyJSON
		fx.okJSON(&one, "kv", "-json", "a1", "owner")
		if one != (kvKeyJSON{InstanceID: "a1", Key: "owner", Value: "ops"}) {
			t.Fatalf("kv KEY -json: %+v", one)
		}
		fx.fails(ExitNotFound, `instance "a1" has no KV key "absent"`, "kv", "a1", "absent")
		fx.fails(ExitNotFound, `no instance "nobody"`, "kv", "nobody")
		fx.fails(ExitNotFound, `no instance "nobody"`, "kv", "nobody", "stage")
		if st := fx.ok("status", "a1"); !strings.Contains(st, "custom status  waiting") {
			t.Fatalf("status lacks the custom status:\n%s", st)
		}

		fx.fails(ExitUsage, "event data is not valid JSON", "raise", "a1", "approve", "{bad")
		fx.fails(ExitUsage, "queue message data is not valid JSON", "enqueue", "a1", "inbox", "nope")
		fx.fails(ExitUsage, "raise needs ID EVENT", "raise", "a1")
		fx.fails(ExitUsage, "too many arguments: extra", "raise", "a1", "approve", "1", "extra")
		fx.fails(ExitNotFound, `no instance "nobody"`, "raise", "nobody", "approve")
		fx.fails(ExitNotFound, `no instance "nobody"`, "enqueue", "nobody", "inbox", "1")

		if out := fx.ok("raise", "a1", "approve", `{"ok": true}`); out != "" {
			t.Fatalf("raise printed %q", out)
		}
		// "--" lets a JSON argument start with "-".
		fx.ok("enqueue", "a1", "inbox", "--", "-5")
		var w instanceJSON
		fx.okJSON(&w, "wait", "a1", "-json", "-timeout", "60s")
		var compact bytes.Buffer
		if err := json.Compact(&compact, w.Output); err != nil || compact.String() != `{"approval":{"ok":true},"message":-5}` {
			t.Fatalf("output: %s", w.Output)
		}
		if got := fx.ok("kv", "a1", "stage"); got != "approved\n" {
			t.Fatalf("kv after approval: %q", got)
		}
		h := fx.ok("history", "a1")
		for _, want := range []string{`CustomStatusUpdated`, `"waiting"`, `stage = "approved"`, `ExternalEvent`, `data {"ok":true}`, "QueueEventDelivered", "inbox", "data -5"} {
			if !strings.Contains(h, want) {
				t.Errorf("history lacks %q:\n%s", want, h)
			}
		}
		// Messages to a finished instance are accepted and ignored.
		fx.ok("raise", "a1", "approve")
	})
}

func TestCancel(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Forever", "-id", "c1")
		fx.ok("cancel", "c1", "-reason", "stop it")
		r := fx.fails(ExitFailed, `instance "c1" failed`, "wait", "c1", "-timeout", "60s")
		if !strings.Contains(r.stderr, "stop it") || !strings.Contains(r.stdout, "(cancelled)") {
			t.Fatalf("cancelled instance:\n%s", r)
		}
		if r := fx.cli("cancel", "c1"); r.code != ExitOK || !strings.Contains(r.stderr, "already Failed") {
			t.Fatalf("cancel of a finished instance: %s", r)
		}
		h := fx.ok("history", "c1")
		for _, want := range []string{"ExternalSubscribed", "never", `OrchestrationCancelRequested`, `reason "stop it"`, "OrchestrationFailed", "error canceled: stop it"} {
			if !strings.Contains(h, want) {
				t.Errorf("history of a cancelled instance lacks %q:\n%s", want, h)
			}
		}
		fx.fails(ExitNotFound, `no instance "nobody"`, "cancel", "nobody")
	})
}

func TestList(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Greet", "-id", "l-a", "-input", `"a"`)
		fx.waitDone("l-a")
		fx.ok("start", "Greet", "-id", "l-b", "-input", `"b"`)
		fx.waitDone("l-b")
		fx.ok("start", "Forever", "-id", "l-r")

		lines := strings.Split(strings.TrimSpace(fx.ok("list")), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "INSTANCE") {
			t.Fatalf("list:\n%s", strings.Join(lines, "\n"))
		}
		for _, id := range []string{"l-a", "l-b", "l-r"} {
			if !strings.Contains(strings.Join(lines, "\n"), id) {
				t.Errorf("list lacks %s", id)
			}
		}
		var running []instanceJSON
		fx.okJSON(&running, "list", "-status", "running", "-json")
		if len(running) != 1 || running[0].InstanceID != "l-r" || running[0].Status != "Running" || running[0].Name != "Forever" {
			t.Fatalf("list -status running -json: %+v", running)
		}
		var raw []json.RawMessage
		fx.okJSON(&raw, "list", "-json")
		if len(raw) != 3 {
			t.Fatalf("list -json: %d instances", len(raw))
		}
		if d := cmp.Diff(instanceKeys, keysOf(t, string(raw[0]))); d != "" {
			t.Errorf("list -json keys (-want +got):\n%s", d)
		}
		ids := strings.Fields(fx.ok("list", "-status", "Completed", "-q"))
		sort.Strings(ids)
		if d := cmp.Diff([]string{"l-a", "l-b"}, ids); d != "" {
			t.Fatalf("list -q (-want +got):\n%s", d)
		}
		r := fx.cli("list", "-limit", "1", "-q")
		if r.code != 0 || len(strings.Fields(r.stdout)) != 1 || !strings.Contains(r.stderr, "showing the newest 1 of 3") {
			t.Fatalf("list -limit 1: %s", r)
		}
		fx.fails(ExitUsage, `unknown -status "done"`, "list", "-status", "done")
		fx.fails(ExitUsage, "too many arguments", "list", "extra")
		fx.fails(ExitUsage, "give -q or -json, not both", "list", "-q", "-json")
	})
}

func TestHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Greet", "-id", "h1", "-input", `"world"`)
		fx.waitDone("h1")
		text := fx.ok("history", "h1")
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "h1  execution 1 of 1  Completed") {
			t.Fatalf("history:\n%s", text)
		}
		wants := [][]string{
			{"+0.000s", "#1", "OrchestrationStarted", "Greet", `version 1.0.0 input "world"`},
			{"#2", "ActivityScheduled", "Hello", `input "world"`},
			{"#3", "ActivityCompleted", "Hello", `of #2 result "Hello, world!"`},
			{"#4", "OrchestrationCompleted", `output "Hello, world!"`},
		}
		for i, want := range wants {
			for _, w := range want {
				if !strings.Contains(lines[i+1], w) {
					t.Errorf("history line %d lacks %q: %s", i+1, w, lines[i+1])
				}
			}
		}
		var h historyJSON
		fx.okJSON(&h, "history", "h1", "-json")
		if h.InstanceID != "h1" || h.ExecutionID != 1 || h.Status != "Completed" || len(h.Events) != 4 ||
			h.Events[0].Kind != history.OrchestrationStarted || h.Events[2].SourceEventID != 2 || string(h.Events[2].Result) != `"Hello, world!"` {
			t.Fatalf("history -json: %+v", h)
		}
		var generic map[string]any
		if err := json.Unmarshal([]byte(fx.ok("history", "h1", "-json")), &generic); err != nil {
			t.Fatal(err)
		}
		if ev := generic["events"].([]any)[1].(map[string]any); ev["type"] != "ActivityScheduled" || ev["id"] != 2.0 || ev["name"] != "Hello" {
			t.Fatalf("event JSON field names: %v", ev)
		}

		fx.ok("start", "Counter", "-id", "n1", "-input", "0")
		if res := fx.waitDone("n1"); res.ExecutionID != 4 {
			t.Fatalf("counter: %+v", res)
		}
		first := fx.ok("history", "n1", "-execution", "1")
		if !strings.Contains(first, "execution 1 of 1..4  ContinuedAsNew") || !strings.Contains(first, "OrchestrationContinuedAsNew") {
			t.Fatalf("history -execution 1:\n%s", first)
		}
		if cur := fx.ok("history", "n1"); !strings.Contains(cur, "execution 4 of 1..4  Completed") || !strings.Contains(cur, "output 3") {
			t.Fatalf("history of the current execution:\n%s", cur)
		}
		fx.fails(ExitNotFound, `instance "n1" has no execution 9 (it has 1..4)`, "history", "n1", "-execution", "9")
		fx.fails(ExitNotFound, `no instance "nobody"`, "history", "nobody")
	})
}

func TestTree(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Parent", "-id", "p1")
		fx.waitDone("p1")
		text := fx.ok("tree", "p1")
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "p1  Completed  Parent 1.0.0") ||
			!strings.HasPrefix(lines[1], "├── p1::sub::") || !strings.HasPrefix(lines[2], "└── p1::sub::") ||
			!strings.Contains(lines[2], "Completed  Greet") {
			t.Fatalf("tree:\n%s", text)
		}
		var tree treeJSON
		fx.okJSON(&tree, "tree", "p1", "-json")
		if tree.InstanceID != "p1" || len(tree.Children) != 2 || tree.Children[0].ParentInstanceID != "p1" ||
			tree.Children[1].Name != "Greet" || len(tree.Children[1].Children) != 0 {
			t.Fatalf("tree -json: %+v", tree)
		}
		child := tree.Children[0].InstanceID
		if sub := fx.ok("tree", child); strings.Count(sub, "\n") != 1 || !strings.HasPrefix(sub, child+"  Completed") {
			t.Fatalf("tree of a leaf: %q", sub)
		}
		fx.fails(ExitNotFound, `no instance "nobody"`, "tree", "nobody")
	})
}

func TestDeleteAndPrune(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Counter", "-id", "n1", "-input", "0")
		fx.waitDone("n1")
		var pr []pruneJSON
		fx.okJSON(&pr, "prune", "n1", "-keep", "1", "-json")
		if len(pr) != 1 || pr[0].InstanceID != "n1" || pr[0].ExecutionsDeleted != 3 || pr[0].EventsDeleted == 0 || pr[0].Error != "" {
			t.Fatalf("prune -json: %+v", pr)
		}
		fx.fails(ExitNotFound, "has no execution 1", "history", "n1", "-execution", "1")
		if out := fx.ok("prune", "n1"); out != "pruned n1: 0 executions, 0 events\n" {
			t.Fatalf("second prune: %q", out)
		}
		fx.fails(ExitNotFound, `no instance "nobody"`, "prune", "nobody")
		fx.fails(ExitUsage, "must not be negative", "prune", "n1", "-keep", "-1")

		fx.ok("start", "Forever", "-id", "r1")
		fx.fails(ExitFailed, "still running; cancel it first or use -force", "delete", "r1")
		if out := fx.ok("delete", "r1", "-force"); !strings.HasPrefix(out, "deleted r1: 1 instances, 1 executions") {
			t.Fatalf("delete -force: %q", out)
		}
		fx.fails(ExitNotFound, `no instance "r1"`, "status", "r1")

		fx.ok("start", "Parent", "-id", "p1")
		fx.waitDone("p1")
		tree, err := fx.client.GetInstanceTree(fx.ctx, "p1")
		if err != nil {
			t.Fatal(err)
		}
		fx.fails(ExitFailed, "is a sub-orchestration; delete its root instead", "delete", tree.AllIDs[1])
		var del []deleteJSON
		fx.okJSON(&del, "delete", "-json", "p1")
		if len(del) != 1 || del[0].InstancesDeleted != 3 || del[0].ExecutionsDeleted != 3 || del[0].EventsDeleted == 0 || del[0].Error != "" {
			t.Fatalf("delete -json: %+v", del)
		}

		// Several ids: the failures are reported, the others deleted, and the exit
		// code is the first failure's.
		fx.ok("start", "Greet", "-id", "d1", "-input", `"x"`)
		fx.waitDone("d1")
		r := fx.fails(ExitNotFound, `duroxide delete: no instance "nobody"`, "delete", "nobody", "d1", "n1")
		if !strings.Contains(r.stdout, "deleted d1:") || !strings.Contains(r.stdout, "deleted n1:") {
			t.Fatalf("bulk delete: %s", r)
		}
		if ids, err := fx.client.ListAllInstances(fx.ctx); err != nil || len(ids) != 0 {
			t.Fatalf("instances left: %v %v", ids, err)
		}
		fx.fails(ExitUsage, "delete needs ID...", "delete")
	})
}

func TestMetrics(t *testing.T) {
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Greet", "-id", "m1", "-input", `"m"`)
		fx.waitDone("m1")
		fx.ok("start", "Fail", "-id", "m2")
		fx.waitDone("m2")
		fx.ok("start", "Forever", "-id", "m3")
		var m metricsJSON
		fx.okJSON(&m, "metrics", "-json")
		if m.TotalInstances != 3 || m.CompletedInstances != 1 || m.FailedInstances != 1 || m.RunningInstances != 1 ||
			m.TotalExecutions != 3 || m.TotalEvents == 0 || m.Queues.Worker != 0 {
			t.Fatalf("metrics -json: %+v", m)
		}
		text := fx.ok("metrics")
		for _, want := range []string{"instances", "(running 1, completed 1, failed 1)", "worker queue", "timer queue"} {
			if !strings.Contains(text, want) {
				t.Errorf("metrics lacks %q:\n%s", want, text)
			}
		}
		if d := cmp.Diff([]string{"completed_instances", "failed_instances", "queues", "running_instances",
			"total_events", "total_executions", "total_instances"}, keysOf(t, fx.ok("metrics", "-json"))); d != "" {
			t.Errorf("metrics -json keys (-want +got):\n%s", d)
		}
	})
}

// TestUsage covers the command line itself: these fail before any store is opened,
// or at opening it.
func TestUsage(t *testing.T) {
	t.Setenv("DUROXIDE_DB", "")
	t.Setenv("DUROXIDE_PG", "")
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "empty.db")
	s, err := sqlitestore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		out  string // in stdout
		err  string // in stderr
	}{
		{"no command", nil, ExitUsage, "", "usage: duroxide"},
		{"unknown command", []string{"-db", db, "frobnicate"}, ExitUsage, "", `unknown command "frobnicate"`},
		{"unknown global flag", []string{"-verbose", "list"}, ExitUsage, "", "flag provided but not defined: -verbose"},
		{"unknown command flag", []string{"-db", db, "list", "-verbose"}, ExitUsage, "", "flag provided but not defined: -verbose"},
		{"missing argument", []string{"-db", db, "status"}, ExitUsage, "", "status needs ID"},
		{"no store", []string{"list"}, ExitUsage, "", "no store: give -db FILE"},
		{"both stores", []string{"-db", db, "-pg", "postgres://x", "list"}, ExitUsage, "", "either -db or -pg"},
		{"missing file", []string{"-db", db + ".missing", "list"}, ExitUsage, "", "does not exist"},
		{"bad JSON", []string{"-db", db, "raise", "x", "e", "[1,"}, ExitUsage, "", "event data is not valid JSON"},
		{"help", []string{"help"}, ExitOK, "Commands:", ""},
		{"-h", []string{"-h"}, ExitOK, "Global flags", ""},
		{"help start", []string{"help", "start"}, ExitOK, "-input JSON", ""},
		{"command -h without a store", []string{"wait", "-h"}, ExitOK, "-timeout duration", ""},
		{"help of unknown", []string{"help", "nope"}, ExitUsage, "", `unknown command "nope"`},
		{"empty store", []string{"-db", db, "list", "-q"}, ExitOK, "", "no instances"},
		{"empty store as JSON", []string{"-db", db, "list", "-json"}, ExitOK, "[]", ""},
		{"unreachable postgres", []string{"-pg", "postgres://postgres@127.0.0.1:1/x?sslmode=disable", "-connect-timeout", "300ms", "list"}, ExitFailed, "", "connect to PostgreSQL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(ctx, false, c.args...)
			if r.code != c.code || !strings.Contains(r.stdout, c.out) || !strings.Contains(r.stderr, c.err) {
				t.Fatalf("want exit %d, stdout with %q, stderr with %q; got %s", c.code, c.out, c.err, r)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	cmd := Command{Name: "x", Args: "A [B]"}
	cases := []struct {
		args   []string
		pos    []string
		reason string
	}{
		{[]string{"a", "-reason", "r", "b"}, []string{"a", "b"}, "r"},
		{[]string{"-reason", "r", "a"}, []string{"a"}, "r"},
		{[]string{"a", "--", "-5"}, []string{"a", "-5"}, ""},
		{[]string{"a", "-reason", "--", "b"}, []string{"a", "b"}, "--"},
		{[]string{"a", "-reason=--", "--", "-b"}, []string{"a", "-b"}, "--"},
	}
	for _, c := range cases {
		fs := newFlags("x")
		reason := fs.String("reason", "", "")
		pos, err := parseArgs(fs, cmd, c.args, 1, 2)
		if err != nil || !cmp.Equal(pos, c.pos) || *reason != c.reason {
			t.Errorf("%q: got %q reason %q err %v; want %q reason %q", c.args, pos, *reason, err, c.pos, c.reason)
		}
	}
}

// TestProgress checks the terminal display: a spinner line on stderr while waiting or
// deleting several ids, erased at the end, and nothing of it on stdout.
func TestProgress(t *testing.T) {
	fx := newFixture(t, "sqlite")
	fx.ok("start", "Approval", "-id", "p1")
	if _, err := fx.client.WaitForKVValue(fx.ctx, "p1", "stage", time.Minute); err != nil {
		t.Fatal(err)
	}
	done := make(chan result, 1)
	go func() {
		done <- runCLI(fx.ctx, true, append(append([]string{}, fx.global...), "wait", "p1", "-timeout", "60s")...)
	}()
	// The spinner draws its first frame as it starts, so the label shows whenever the
	// instance ends.
	fx.ok("raise", "p1", "approve", "1")
	fx.ok("enqueue", "p1", "inbox", "2")
	r := <-done
	if r.code != ExitOK || !strings.Contains(r.stderr, "waiting for p1") || !strings.HasSuffix(r.stderr, "\r\x1b[K") ||
		strings.Contains(r.stdout, "\r") || !strings.Contains(r.stdout, "status         Completed") {
		t.Fatalf("wait on a terminal: %q", r)
	}
	fx.ok("start", "Greet", "-id", "p2", "-input", `"x"`)
	fx.waitDone("p2")
	r = runCLI(fx.ctx, true, append(append([]string{}, fx.global...), "delete", "p1", "p2")...)
	if r.code != ExitOK || !strings.Contains(r.stderr, "deleting") || strings.Contains(r.stdout, "deleting") {
		t.Fatalf("bulk delete on a terminal: %q", r)
	}
	// Not a terminal: a file is not a character device.
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) || isTerminal(&bytes.Buffer{}) {
		t.Fatal("a file or a buffer taken for a terminal")
	}
}

// TestBinary builds cmd/duroxide and runs it as a subprocess against a store that a
// runtime in this test serves.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "duroxide")
	// cmd/duroxide is a module of its own (it links the Prometheus client): build it
	// from its directory.
	build := exec.Command(goTool, "build", "-buildvcs=false", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "duroxide")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	eachStore(t, func(t *testing.T, fx *fixture) {
		exe := func(args ...string) result {
			cmd := exec.CommandContext(fx.ctx, bin, append(append([]string{}, fx.global...), args...)...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("run %s: %v", bin, err)
			}
			return result{code, out.String(), errb.String()}
		}
		if r := exe("start", "Greet", "-id", "b1", "-input", `"binary"`); r.code != 0 || r.stdout != "b1\n" {
			t.Fatalf("start: %s", r)
		}
		r := exe("wait", "b1", "-timeout", "60s", "-json")
		var w instanceJSON
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &w) != nil || string(w.Output) != `"Hello, binary!"` {
			t.Fatalf("wait: %s", r)
		}
		if r := exe("status", "nobody"); r.code != ExitNotFound || !strings.Contains(r.stderr, `no instance "nobody"`) {
			t.Fatalf("status of an unknown instance: %s", r)
		}
		if r := exe("nope"); r.code != ExitUsage {
			t.Fatalf("unknown command: %s", r)
		}
		// The stock binary has no orchestration code to replay.
		if r := exe("replay", "b1"); r.code != ExitUsage || !strings.Contains(r.stderr, "no orchestration code to replay") {
			t.Fatalf("replay in the stock binary: %s", r)
		}
		binaryServe(t, fx, bin)
	})
}

// TestInterrupted cancels the context of a wait, as a SIGINT does through main.
func TestInterrupted(t *testing.T) {
	fx := newFixture(t, "sqlite")
	fx.ok("start", "Forever", "-id", "i1")
	ctx, cancel := context.WithCancel(fx.ctx)
	time.AfterFunc(300*time.Millisecond, cancel)
	r := runCLI(ctx, false, append(append([]string{}, fx.global...), "wait", "i1")...)
	if r.code != ExitInterrupted || !strings.Contains(r.stderr, "duroxide wait: interrupted") {
		t.Fatalf("interrupted wait: %s", r)
	}
	// An instance without KV keys says so on stderr and prints nothing.
	if r := fx.cli("kv", "i1"); r.code != ExitOK || r.stdout != "" || !strings.Contains(r.stderr, "has no KV keys") {
		t.Fatalf("kv of an instance without keys: %s", r)
	}
}

// TestStoreFromEnvironment: $DUROXIDE_DB names the store when no flag does, and a flag
// of either kind wins over it.
func TestStoreFromEnvironment(t *testing.T) {
	db := filepath.Join(t.TempDir(), "env.db")
	s, err := sqlitestore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DUROXIDE_DB", db)
	t.Setenv("DUROXIDE_PG", "")
	ctx := context.Background()
	if r := runCLI(ctx, false, "list", "-json"); r.code != ExitOK || r.stdout != "[]\n" {
		t.Fatalf("store from $DUROXIDE_DB: %s", r)
	}
	r := runCLI(ctx, false, "-pg", "postgres://postgres@127.0.0.1:1/x?sslmode=disable", "-connect-timeout", "200ms", "list")
	if r.code != ExitFailed || !strings.Contains(r.stderr, "connect to PostgreSQL") {
		t.Fatalf("-pg over $DUROXIDE_DB: %s", r)
	}
	t.Setenv("DUROXIDE_PG", "postgres://x")
	if r := runCLI(ctx, false, "list"); r.code != ExitUsage || !strings.Contains(r.stderr, "either -db or -pg") {
		t.Fatalf("both variables set: %s", r)
	}
	if r := runCLI(ctx, false, "-db", db, "list", "-q"); r.code != ExitOK {
		t.Fatalf("-db over both variables: %s", r)
	}
}
