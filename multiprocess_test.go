package duroxide_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/yield"
)

// Several runtimes on one PostgreSQL schema: three in this process, one in a separate OS
// process (this test binary run again as TestMultiProcessWorkerHelper). Every runtime
// registers the same code; activities put the name of the runtime that ran them in
// their result, so the histories show who did the work.

const (
	mpInstances = 300
	// Activities per instance: 2 in sequence, 3 fanned out, 1 in the child, 1 after
	// continue-as-new.
	mpActivitiesPerInstance = 7
	mpHelperNode            = "helper"
	// Environment of the helper process.
	envHelperSchema    = "DUROXIDE_HELPER_SCHEMA"
	envHelperHangAfter = "DUROXIDE_HELPER_HANG_AFTER"
)

// pgSkipMessage is the skip message of the PostgreSQL tests (as in pgstore).
const pgSkipMessage = "set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests"

// mpOptions are the options of every runtime of the test: short locks, so that the work
// of a killed process is taken over quickly.
func mpOptions(logger *zerolog.Logger) duroxide.RuntimeOptions {
	return duroxide.RuntimeOptions{
		OrchestrationConcurrency: 2,
		WorkerConcurrency:        2,
		DispatcherPollInterval:   50 * time.Millisecond,
		OrchestratorLockTimeout:  time.Second,
		WorkerLockTimeout:        2 * time.Second,
		Logger:                   logger,
	}
}

type mpInput struct {
	I     int `json:"i"`
	Round int `json:"round"`
	Acc   int `json:"acc"`
}

type mpActResult struct {
	V    int    `json:"v"`
	Node string `json:"node"`
}

type mpOutput struct {
	I     int `json:"i"`
	Total int `json:"total"`
}

// mpEventData is what the test raises as event "go" to instance i.
func mpEventData(i int) int { return 7 * i }

// mpExpected is the output of instance i: (i+1+2) + (i+2i+3i) + (i+100) + 7i, then + i
// after continue-as-new.
func mpExpected(i int) mpOutput { return mpOutput{I: i, Total: 16*i + 103} }

func mpInstanceID(i int) string { return fmt.Sprintf("mp-%03d", i) }

// mpRegister registers the test's code on rt. node names the runtime in activity
// results; before runs at the start of every activity (nil: nothing).
func mpRegister(t testing.TB, rt *duroxide.Runtime, node string, before func(a *duroxide.ActivityContext)) {
	t.Helper()
	pair := func(in yield.Value) (int, int, error) {
		var p [2]int
		err := in.Decode(&p)
		return p[0], p[1], err
	}
	act := func(op func(a, b int) int) duroxide.Activity {
		return func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
			if before != nil {
				before(a)
			}
			x, y, err := pair(in)
			if err != nil {
				return nil, duroxide.NonRetryable(err)
			}
			return mpActResult{V: op(x, y), Node: node}, nil
		}
	}
	call := func(ctx *yield.Ctx, name string, x, y int) (int, error) {
		r, err := yield.Await[mpActResult](ctx, ctx.ScheduleActivity(name, [2]int{x, y}))
		return r.V, err
	}
	must := func(err error) {
		if err != nil {
			t.Fatalf("register: %v", err)
		}
	}
	must(rt.RegisterActivity("Add", act(func(a, b int) int { return a + b })))
	must(rt.RegisterActivity("Mul", act(func(a, b int) int { return a * b })))
	must(rt.RegisterOrchestration("MPChild", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		var i int
		if err := in.Decode(&i); err != nil {
			return nil, err
		}
		return call(ctx, "Add", i, 100)
	}))
	must(rt.RegisterOrchestration("MP", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		var p mpInput
		if err := in.Decode(&p); err != nil {
			return nil, err
		}
		if p.Round == 1 {
			v, err := call(ctx, "Add", p.Acc, p.I)
			if err != nil {
				return nil, err
			}
			return mpOutput{I: p.I, Total: v}, nil
		}
		a, err := call(ctx, "Add", p.I, 1)
		if err != nil {
			return nil, err
		}
		b, err := call(ctx, "Add", a, 2)
		if err != nil {
			return nil, err
		}
		fan, err := yield.AwaitAll(ctx,
			ctx.ScheduleActivity("Mul", [2]int{p.I, 1}),
			ctx.ScheduleActivity("Mul", [2]int{p.I, 2}),
			ctx.ScheduleActivity("Mul", [2]int{p.I, 3}))
		if err != nil {
			return nil, err
		}
		sum := 0
		for _, r := range fan {
			if r.Err != nil {
				return nil, r.Err
			}
			var v mpActResult
			if err := r.Value.Decode(&v); err != nil {
				return nil, err
			}
			sum += v.V
		}
		if _, err := ctx.Yield(ctx.ScheduleTimer(20 * time.Millisecond)); err != nil {
			return nil, err
		}
		child, err := yield.Await[int](ctx, ctx.ScheduleSubOrchestration("MPChild", p.I))
		if err != nil {
			return nil, err
		}
		ev, err := yield.Await[int](ctx, ctx.WaitForEvent("go"))
		if err != nil {
			return nil, err
		}
		return ctx.Yield(ctx.ContinueAsNew(mpInput{I: p.I, Round: 1, Acc: b + sum + child + ev}))
	}))
}

// pgFreshSchema names a new schema of DATABASE_URL and drops it at cleanup, through a
// connection of its own (register it before anything that must end first). It skips
// the test when DATABASE_URL is unset.
func pgFreshSchema(tb testing.TB, prefix string) (url, schema string) {
	tb.Helper()
	url = os.Getenv("DATABASE_URL")
	if url == "" {
		tb.Skip(pgSkipMessage)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema = fmt.Sprintf("%s_%d_%s", prefix, time.Now().UnixMilli(), hex.EncodeToString(b[:]))
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := pgstore.ConnectWithSchema(ctx, url, schema, pgstore.WithMaxConns(1))
		if err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer d.Close()
		if err := d.DropSchema(ctx); err != nil {
			tb.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return url, schema
}

// pgConnect connects to schema with a small pool, closed at cleanup.
func pgConnect(tb testing.TB, url, schema string, maxConns int) *pgstore.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pgstore.ConnectWithSchema(ctx, url, schema, pgstore.WithMaxConns(maxConns))
	if err != nil {
		tb.Fatalf("connect to schema %s: %v", schema, err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// TestMultiProcessWorkerHelper is the separate process of TestMultiProcess: it runs one
// runtime on the schema named by DUROXIDE_HELPER_SCHEMA until its stdin closes (or it is
// killed). It prints "ready" once started and "start <instance> <execution> <activity
// id>" as each activity starts. With DUROXIDE_HELPER_HANG_AFTER=n its n-th activity
// prints "hang <instance> <execution> <activity id>" instead and does not return (the
// process is to be killed holding its lock).
func TestMultiProcessWorkerHelper(t *testing.T) {
	schema := os.Getenv(envHelperSchema)
	if schema == "" {
		t.Skip("helper process of TestMultiProcess; runs only when " + envHelperSchema + " is set")
	}
	url := os.Getenv("DATABASE_URL")
	hangAfter, _ := strconv.Atoi(os.Getenv(envHelperHangAfter))
	store := pgConnect(t, url, schema, 6)
	logger := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Str("node", mpHelperNode).Logger()
	rt, err := duroxide.NewRuntime(store, mpOptions(&logger))
	if err != nil {
		t.Fatal(err)
	}
	var started atomic.Int64
	mpRegister(t, rt, mpHelperNode, func(a *duroxide.ActivityContext) {
		n := started.Add(1)
		if hangAfter > 0 && n == int64(hangAfter) {
			fmt.Printf("hang %s %d %d\n", a.InstanceID(), a.ExecutionID(), a.ActivityID())
			<-a.Context().Done() // until killed
			return
		}
		fmt.Printf("start %s %d %d\n", a.InstanceID(), a.ExecutionID(), a.ActivityID())
	})
	if err := rt.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin or dies
	if err := rt.Shutdown(10 * time.Second); err != nil {
		t.Errorf("helper shutdown: %v", err)
	}
}

// mpHelper is the separate process as the test sees it.
type mpHelper struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ready   chan struct{}
	hang    chan [3]string // instance, execution id, activity id
	starts  atomic.Int64
	exited  chan struct{} // closed when the process has exited
	exitErr error         // cmd.Wait's error, once exited is closed

	mu     sync.Mutex
	stderr strings.Builder
}

func startHelper(t *testing.T, schema string, hangAfter int) *mpHelper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMultiProcessWorkerHelper$", "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envHelperSchema+"="+schema, envHelperHangAfter+"="+strconv.Itoa(hangAfter))
	h := &mpHelper{cmd: cmd, ready: make(chan struct{}), hang: make(chan [3]string, 1), exited: make(chan struct{})}
	var err error
	if h.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = (*lockedWriter)(h)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the helper process: %v", err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		readyOnce := sync.OnceFunc(func() { close(h.ready) })
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 1 && f[0] == "ready":
				readyOnce()
			case len(f) == 4 && f[0] == "start":
				h.starts.Add(1)
			case len(f) == 4 && f[0] == "hang":
				h.hang <- [3]string{f[1], f[2], f[3]}
			}
		}
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		h.exitErr = cmd.Wait()
		close(h.exited)
	}()
	t.Cleanup(func() {
		// A test that failed half-way leaves the helper running: stop it before the
		// schema is dropped.
		_ = h.stdin.Close()
		select {
		case <-h.exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-h.exited
		}
		if t.Failed() {
			t.Logf("helper stderr:\n%s", h.stderrText())
		}
	})
	select {
	case <-h.ready:
	case <-h.exited:
		t.Fatalf("helper exited before it was ready: %v\n%s", h.exitErr, h.stderrText())
	case <-time.After(30 * time.Second):
		t.Fatalf("helper not ready after 30s\n%s", h.stderrText())
	}
	return h
}

type lockedWriter mpHelper

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.Write(p)
}

func (h *mpHelper) stderrText() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stderr.String()
}

// TestMultiProcess: three runtimes in this process and one in another process share a
// PostgreSQL schema and finish 300 orchestrations (activities in sequence and fanned
// out, a timer, a child, an event raised by the test, continue-as-new), every result
// correct and every completion recorded once; then the same with the other process
// killed (SIGKILL) half-way, holding an activity and whatever else it had locked.
func TestMultiProcess(t *testing.T) {
	if os.Getenv("DATABASE_URL") == "" {
		t.Skip(pgSkipMessage)
	}
	t.Run("all-alive", func(t *testing.T) { runMultiProcess(t, false) })
	t.Run("sigkill", func(t *testing.T) { runMultiProcess(t, true) })
}

func runMultiProcess(t *testing.T, kill bool) {
	t0 := time.Now()
	url, schema := pgFreshSchema(t, "mp")
	// The client: starts, raises, waits, reads histories.
	cstore := pgConnect(t, url, schema, 4)
	client := duroxide.NewClient(cstore)

	// Three runtimes here, each on a store (connection pool, listener) of its own.
	var localRuns atomic.Int64
	var rts []*duroxide.Runtime
	for n := range 3 {
		store := pgConnect(t, url, schema, 4)
		logger := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel).With().Str("node", fmt.Sprint("local", n)).Logger()
		rt, err := duroxide.NewRuntime(store, mpOptions(&logger))
		if err != nil {
			t.Fatal(err)
		}
		mpRegister(t, rt, fmt.Sprint("local", n), func(*duroxide.ActivityContext) { localRuns.Add(1) })
		rts = append(rts, rt)
	}
	hangAfter := 0
	if kill {
		hangAfter = 10
	}
	h := startHelper(t, schema, hangAfter)
	for _, rt := range rts {
		if err := rt.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rt.Shutdown(10 * time.Second) })
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	for i := range mpInstances {
		id := mpInstanceID(i)
		if err := client.StartOrchestration(ctx, id, "MP", mpInput{I: i}); err != nil {
			t.Fatalf("StartOrchestration(%s): %v", id, err)
		}
		if err := client.RaiseEvent(ctx, id, "go", mpEventData(i)); err != nil {
			t.Fatalf("RaiseEvent(%s): %v", id, err)
		}
	}
	t.Logf("%d instances started after %s", mpInstances, time.Since(t0).Round(time.Millisecond))

	var hung [3]string
	if kill {
		// Half-way: the helper is stuck in an activity (holding its lock) and about half
		// of the activities have run.
		select {
		case hung = <-h.hang:
		case <-h.exited:
			t.Fatalf("helper exited early: %v\n%s", h.exitErr, h.stderrText())
		case <-ctx.Done():
			t.Fatalf("the helper never reached its %d-th activity (it started %d)", hangAfter, h.starts.Load())
		}
		half := int64(mpInstances * mpActivitiesPerInstance / 2)
		for localRuns.Load()+h.starts.Load() < half {
			if ctx.Err() != nil {
				t.Fatalf("only %d activities ran here and %d in the helper", localRuns.Load(), h.starts.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := h.cmd.Process.Kill(); err != nil {
			t.Fatalf("SIGKILL: %v", err)
		}
		<-h.exited
		var ee *exec.ExitError
		if !errors.As(h.exitErr, &ee) || ee.Success() {
			t.Fatalf("helper exit after SIGKILL: %v", h.exitErr)
		}
		t.Logf("helper killed after %s (%d activities started there, stuck in %s execution %s activity %s; %d run here)",
			time.Since(t0).Round(time.Millisecond), h.starts.Load(), hung[0], hung[1], hung[2], localRuns.Load())
	}

	// Every result correct.
	for i := range mpInstances {
		id := mpInstanceID(i)
		res, err := client.WaitForOrchestration(ctx, id, 0)
		if err != nil {
			t.Fatalf("WaitForOrchestration(%s): %v", id, err)
		}
		if res.Status != duroxide.StatusCompleted {
			t.Fatalf("%s: status %s (%s: %s), want Completed", id, res.Status, res.ErrorKind, res.Error)
		}
		var got mpOutput
		if err := res.Output.Decode(&got); err != nil {
			t.Fatalf("%s: output %s: %v", id, res.Output.Raw(), err)
		}
		if want := mpExpected(i); got != want {
			t.Fatalf("%s: output %s, want %+v", id, res.Output.Raw(), want)
		}
	}
	t.Logf("all %d completed after %s", mpInstances, time.Since(t0).Round(time.Millisecond))

	if !kill {
		// Stop the helper cleanly: it must exit with success (no race report, no failure).
		_ = h.stdin.Close()
		select {
		case <-h.exited:
			if h.exitErr != nil {
				t.Fatalf("helper exit: %v\n%s", h.exitErr, h.stderrText())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("helper did not exit after its stdin closed")
		}
	}

	if strings.Contains(h.stderrText(), "DATA RACE") {
		t.Errorf("the race detector reported in the helper:\n%s", h.stderrText())
	}

	// Every completion recorded once; count who ran what.
	byNode := checkMultiProcessHistories(t, ctx, cstore)
	t.Logf("activity completions by runtime: %v (helper started %d)", byNode, h.starts.Load())
	if byNode[mpHelperNode] == 0 {
		t.Errorf("no activity completion recorded by the helper process: it did no work")
	}
	total := 0
	for _, n := range byNode {
		total += n
	}
	if total != mpInstances*mpActivitiesPerInstance {
		t.Errorf("%d activity completions, want %d", total, mpInstances*mpActivitiesPerInstance)
	}
	if kill {
		// The activity the helper held when it died was redone by a runtime here.
		node, ok := activityNode(t, ctx, cstore, hung[0], hung[1], hung[2])
		if !ok || node == mpHelperNode {
			t.Errorf("activity %s of %s execution %s (stuck in the killed helper): completed by %q (found %v), want a runtime still alive",
				hung[2], hung[0], hung[1], node, ok)
		}
	}
	t.Logf("done after %s", time.Since(t0).Round(time.Millisecond))
}

// checkMultiProcessHistories reads every execution of every instance (parents and
// children) and checks that no activity, timer or child has more than one completion,
// that every activity scheduled and not cancelled has exactly one ActivityCompleted, and
// the expected shape (two executions, one event). It returns the activity completions by
// the runtime that ran them.
func checkMultiProcessHistories(t *testing.T, ctx context.Context, store history.Store) map[string]int {
	t.Helper()
	type job struct {
		id    string
		child bool
	}
	type report struct {
		byNode   map[string]int
		children []string
		errs     []string
	}
	check := func(j job) report {
		r := report{byNode: map[string]int{}}
		fail := func(format string, args ...any) {
			r.errs = append(r.errs, j.id+": "+fmt.Sprintf(format, args...))
		}
		st, err := store.InstanceState(ctx, j.id)
		if err != nil {
			fail("InstanceState: %v", err)
			return r
		}
		wantExecs := uint64(2)
		if j.child {
			wantExecs = 1
		}
		if st.ExecutionID != wantExecs || st.Status != history.StatusCompleted {
			fail("execution %d %s, want execution %d Completed", st.ExecutionID, st.Status, wantExecs)
		}
		var acts, timers, subs, events int
		for exec := uint64(1); exec <= st.ExecutionID; exec++ {
			evs, err := store.ReadHistory(ctx, j.id, exec)
			if err != nil {
				fail("ReadHistory(%d): %v", exec, err)
				continue
			}
			scheduled := map[uint64]history.EventKind{}
			cancelled := map[uint64]bool{}
			completions := map[uint64]int{}
			var scheduledActs, cancelledActs, completedActs int
			for _, e := range evs {
				switch e.Kind {
				case history.ActivityScheduled:
					scheduledActs++
					scheduled[e.EventID] = e.Kind
				case history.TimerCreated, history.SubOrchestrationScheduled:
					scheduled[e.EventID] = e.Kind
					if e.Kind == history.SubOrchestrationScheduled {
						r.children = append(r.children, e.Instance)
					}
				case history.ActivityCancelRequested:
					cancelledActs++
					cancelled[e.SourceEventID] = true
				case history.ExternalEvent:
					events++
				case history.ActivityFailed, history.SubOrchestrationFailed:
					fail("execution %d: unexpected %s: %v", exec, e.Kind, e.Error)
				}
				if !e.Kind.IsCompletion() {
					continue
				}
				completions[e.SourceEventID]++
				if n := completions[e.SourceEventID]; n > 1 {
					fail("execution %d: %d completions of event %d (%s)", exec, n, e.SourceEventID, e.Kind)
				}
				if _, ok := scheduled[e.SourceEventID]; !ok {
					fail("execution %d: %s %d answers no scheduled event (%d)", exec, e.Kind, e.EventID, e.SourceEventID)
				}
				if e.Kind == history.ActivityCompleted {
					completedActs++
					var v mpActResult
					if err := yield.RawValue(e.Result).Decode(&v); err != nil || v.Node == "" {
						fail("execution %d: activity result %s: %v", exec, e.Result, err)
					}
					r.byNode[v.Node]++
				}
			}
			if completedActs != scheduledActs-cancelledActs {
				fail("execution %d: %d ActivityCompleted for %d scheduled and %d cancelled", exec, completedActs, scheduledActs, cancelledActs)
			}
			for id, kind := range scheduled {
				if !cancelled[id] && completions[id] != 1 {
					fail("execution %d: %s %d has %d completions, want 1", exec, kind, id, completions[id])
				}
				switch kind {
				case history.ActivityScheduled:
					acts++
				case history.TimerCreated:
					timers++
				case history.SubOrchestrationScheduled:
					subs++
				}
			}
		}
		want := [4]int{6, 1, 1, 1} // activities, timers, children, events
		if j.child {
			want = [4]int{1, 0, 0, 0}
		}
		if got := [4]int{acts, timers, subs, events}; got != want {
			fail("activities, timers, children, events = %v, want %v", got, want)
		}
		return r
	}

	jobs := make(chan job)
	reports := make(chan report)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				reports <- check(j)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(reports)
	}()
	go func() {
		defer close(jobs)
		for i := range mpInstances {
			jobs <- job{id: mpInstanceID(i)}
		}
	}()
	byNode := map[string]int{}
	var children []string
	var errs []string
	collect := func(r report) {
		for n, c := range r.byNode {
			byNode[n] += c
		}
		children = append(children, r.children...)
		errs = append(errs, r.errs...)
	}
	for r := range reports {
		collect(r)
	}
	if len(children) != mpInstances {
		errs = append(errs, fmt.Sprintf("%d children, want %d", len(children), mpInstances))
	}
	for _, c := range children {
		collect(check(job{id: c, child: true}))
	}
	for i, e := range errs {
		if i == 20 {
			t.Errorf("... and %d more", len(errs)-20)
			break
		}
		t.Error(e)
	}
	return byNode
}

// activityNode finds which runtime completed activity activityID of an execution.
func activityNode(t *testing.T, ctx context.Context, store history.Store, instance, executionID, activityID string) (string, bool) {
	t.Helper()
	exec, err1 := strconv.ParseUint(executionID, 10, 64)
	id, err2 := strconv.ParseUint(activityID, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("execution %q, activity id %q: bad numbers", executionID, activityID)
	}
	evs, err := store.ReadHistory(ctx, instance, exec)
	if err != nil {
		t.Fatalf("ReadHistory(%s, %d): %v", instance, exec, err)
	}
	for _, e := range evs {
		if e.Kind == history.ActivityCompleted && e.SourceEventID == id {
			var v mpActResult
			_ = yield.RawValue(e.Result).Decode(&v)
			return v.Node, true
		}
	}
	return "", false
}
