package duroxide_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/faultstore"
	"github.com/duroxide-go/duroxide/yield"
)

// The mixed workload of the reliability tests: every instance runs an activity, a timer,
// an external event, a sub-orchestration with activities in sequence and in parallel, and
// continues as new once, so each kind of message and each store call is exercised.

type mixedInput struct {
	N     int `json:"n"`
	Round int `json:"round"`
}

// mixedWant is the output of MixedWorkload for input n with events 1 then 2.
func mixedWant(n int) string {
	// Round 0: a = 2n, event 1, child(2n+1) = 2n+1+1+1 = 2n+3.
	// Round 1: a = 2(2n+3), event 2, child(4n+8) = 4n+10.
	return fmt.Sprint(4*n + 10)
}

func mixedWorkload(ctx *yield.Ctx, in yield.Value) (any, error) {
	var st mixedInput
	if err := in.Decode(&st); err != nil {
		return nil, err
	}
	a, err := yield.Await[int](ctx, ctx.ScheduleActivity("Double", st.N))
	if err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.ScheduleTimer(5 * time.Millisecond)); err != nil {
		return nil, err
	}
	ev, err := yield.Await[int](ctx, ctx.WaitForEvent("go"))
	if err != nil {
		return nil, err
	}
	c, err := yield.Await[int](ctx, ctx.ScheduleSubOrchestration("MixedChild", a+ev))
	if err != nil {
		return nil, err
	}
	if st.Round == 0 {
		return ctx.Yield(ctx.ContinueAsNew(mixedInput{N: c, Round: 1}))
	}
	return c, nil
}

func mixedChild(ctx *yield.Ctx, in yield.Value) (any, error) {
	var n int
	if err := in.Decode(&n); err != nil {
		return nil, err
	}
	r1, err := yield.Await[int](ctx, ctx.ScheduleActivity("Inc", n))
	if err != nil {
		return nil, err
	}
	rs, err := yield.AwaitAll(ctx, ctx.ScheduleActivity("Inc", r1), ctx.ScheduleActivity("Inc", r1))
	if err != nil {
		return nil, err
	}
	var x, y int
	if err := rs[0].Value.Decode(&x); err != nil {
		return nil, err
	}
	if err := rs[1].Value.Decode(&y); err != nil {
		return nil, err
	}
	if x != y {
		return nil, fmt.Errorf("parallel results differ: %d and %d", x, y)
	}
	return x, nil
}

// mixedOrchestrations are the workload's orchestrations by name, for replay checks.
var mixedOrchestrations = map[string]yield.Orchestration{"MixedWorkload": mixedWorkload, "MixedChild": mixedChild}

// activityRuns counts activity executions (at least once each; more under faults).
type activityRuns struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *activityRuns) add(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == nil {
		r.n = map[string]int{}
	}
	r.n[name]++
}

func (r *activityRuns) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := 0
	for _, v := range r.n {
		t += v
	}
	return t
}

// registerMixed registers the workload on rt.
func registerMixed(t *testing.T, rt *duroxide.Runtime, runs *activityRuns) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rt.RegisterActivity("Double", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		runs.add("Double")
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		return 2 * n, nil
	}))
	must(rt.RegisterActivity("Inc", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		runs.add("Inc")
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		return n + 1, nil
	}))
	for name, fn := range mixedOrchestrations {
		must(rt.RegisterOrchestration(name, fn))
	}
}

// startMixed starts instance id with input n and raises its two events.
func startMixed(ctx context.Context, t *testing.T, c *duroxide.Client, id string, n int) {
	t.Helper()
	if err := c.StartOrchestration(ctx, id, "MixedWorkload", mixedInput{N: n}); err != nil {
		t.Fatalf("start %s: %v", id, err)
	}
	for _, v := range []int{1, 2} {
		if err := c.RaiseEvent(ctx, id, "go", v); err != nil {
			t.Fatalf("raise event on %s: %v", id, err)
		}
	}
}

// checkInstanceTrees verifies, for each root and its descendants: every execution's
// history has at most one completion per scheduled activity, timer and child (exactly
// one for an activity of a finished execution unless it was cancelled), and replays
// cleanly with the code that recorded it. It returns the number of histories checked.
func checkInstanceTrees(ctx context.Context, t *testing.T, c *duroxide.Client, roots []string, orchs map[string]yield.Orchestration) int {
	t.Helper()
	checked := 0
	for _, root := range roots {
		tree, err := c.GetInstanceTree(ctx, root)
		if err != nil {
			t.Fatalf("instance tree of %s: %v", root, err)
		}
		for _, id := range tree.AllIDs {
			info, err := c.GetInstanceInfo(ctx, id)
			if err != nil {
				t.Fatalf("info of %s: %v", id, err)
			}
			fn := orchs[info.OrchestrationName]
			if fn == nil {
				t.Fatalf("%s runs unknown orchestration %q", id, info.OrchestrationName)
			}
			execs, err := c.ListExecutions(ctx, id)
			if err != nil {
				t.Fatalf("executions of %s: %v", id, err)
			}
			for _, x := range execs {
				events, err := c.ReadExecutionHistory(ctx, id, x)
				if err != nil {
					t.Fatalf("history of %s/%d: %v", id, x, err)
				}
				checkCompletionsOnce(t, id, x, events)
				rep, err := c.ReplayInstance(ctx, id, x, fn)
				if err != nil || !rep.Clean {
					t.Errorf("replay of %s/%d: clean=%v err=%v", id, x, rep.Clean, err)
				}
				checked++
			}
		}
	}
	return checked
}

// checkCompletionsOnce fails if a scheduled task has more than one completion in one
// execution's history, or a finished execution has an activity with neither a completion
// nor a cancellation.
func checkCompletionsOnce(t *testing.T, id string, x uint64, events []duroxide.Event) {
	t.Helper()
	scheduled := map[uint64]history.EventKind{}
	completions := map[uint64]int{}
	cancelled := map[uint64]bool{}
	finished := false
	for _, e := range events {
		switch e.Kind {
		case history.ActivityScheduled, history.TimerCreated, history.SubOrchestrationScheduled:
			scheduled[e.EventID] = e.Kind
		case history.ActivityCompleted, history.ActivityFailed, history.TimerFired,
			history.SubOrchestrationCompleted, history.SubOrchestrationFailed:
			completions[e.SourceEventID]++
		case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested:
			cancelled[e.SourceEventID] = true
		}
		if e.Kind.IsTerminal() {
			finished = true
		}
	}
	for src, n := range completions {
		if n > 1 {
			t.Errorf("%s/%d: event %d has %d completions recorded, want 1", id, x, src, n)
		}
		if _, ok := scheduled[src]; !ok {
			t.Errorf("%s/%d: completion of event %d that was never scheduled", id, x, src)
		}
	}
	if finished {
		for src, k := range scheduled {
			if k == history.ActivityScheduled && completions[src] == 0 && !cancelled[src] {
				t.Errorf("%s/%d: activity %d of a finished execution has no completion", id, x, src)
			}
		}
	}
}

// faultProfile is one set of fault rules the workload must survive.
type faultProfile struct {
	name  string
	modes []int // indices into cacheModes
	rules []faultstore.Rule
}

func odds(op faultstore.Op, p float64) faultstore.Rule {
	return faultstore.Rule{Op: op, Odds: p}
}

func oddsAfter(op faultstore.Op, p float64) faultstore.Rule {
	return faultstore.Rule{Op: op, Odds: p, After: true}
}

var faultProfiles = []faultProfile{
	{"fetch-and-commit", []int{1}, []faultstore.Rule{
		odds(faultstore.OpFetchOrchestration, 0.10),
		odds(faultstore.OpCommitOrchestration, 0.10),
		oddsAfter(faultstore.OpCommitOrchestration, 0.05),
		odds(faultstore.OpAbandonOrchestration, 0.20),
	}},
	{"activities", []int{0}, []faultstore.Rule{
		odds(faultstore.OpFetchActivity, 0.10),
		oddsAfter(faultstore.OpFetchActivity, 0.03),
		odds(faultstore.OpCompleteActivity, 0.10),
		oddsAfter(faultstore.OpCompleteActivity, 0.05),
		odds(faultstore.OpAbandonActivity, 0.20),
	}},
	{"everything", []int{0, 1}, []faultstore.Rule{
		odds(faultstore.OpFetchOrchestration, 0.05),
		oddsAfter(faultstore.OpFetchOrchestration, 0.02),
		odds(faultstore.OpCommitOrchestration, 0.05),
		oddsAfter(faultstore.OpCommitOrchestration, 0.05),
		odds(faultstore.OpFetchActivity, 0.05),
		odds(faultstore.OpCompleteActivity, 0.05),
		oddsAfter(faultstore.OpCompleteActivity, 0.05),
		{Op: faultstore.OpCommitOrchestration, Odds: 0.05, Action: faultstore.Delay, Delay: 30 * time.Millisecond},
		{Op: faultstore.OpFetchActivity, Odds: 0.05, Action: faultstore.Delay, After: true, Delay: 30 * time.Millisecond},
	}},
}

// reliabilityInstances is the number of workload instances per fault-test run.
const reliabilityInstances = 12

// TestFaultsMixedWorkload runs the mixed workload on every store under each fault
// profile (with the instance cache, with full replay every turn, or both), and checks that every instance completes with its output, each
// completion is recorded once, and every history replays cleanly.
func TestFaultsMixedWorkload(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for pi, prof := range faultProfiles {
		for _, kind := range storeKinds {
			for _, mi := range prof.modes {
				mode := cacheModes[mi]
				t.Run(prof.name+"/"+kind+"/"+mode.name, func(t *testing.T) {
					base := runtime.NumGoroutine()
					inner := openStore(t, kind)
					inj := faultstore.New(inner, uint64(1000+pi), prof.rules...)
					e := newEnvOn(t, inj.Store(), duroxide.RuntimeOptions{
						InstanceCacheSize:        mode.size,
						OrchestrationConcurrency: 4,
						WorkerConcurrency:        4,
						OrchestratorLockTimeout:  time.Second,
						WorkerLockTimeout:        2 * time.Second,
						Logger:                   reliabilityLogger(t),
					})
					t.Cleanup(func() { _ = e.rt.Shutdown(5 * time.Second) })
					client := duroxide.NewClient(inner) // the test's own calls are not faulted
					var runs activityRuns
					registerMixed(t, e.rt, &runs)
					e.start()
					began := time.Now()
					ids := make([]string, reliabilityInstances)
					for i := range ids {
						ids[i] = fmt.Sprintf("mixed-%d", i)
						startMixed(e.ctx, t, client, ids[i], i)
					}
					for i, id := range ids {
						res, err := client.WaitForOrchestration(e.ctx, id, 50*time.Second)
						if err != nil {
							t.Fatalf("wait %s: %v (faults so far: %d)", id, err, inj.Injected(""))
						}
						completed(t, res, mixedWant(i))
					}
					elapsed := time.Since(began)
					inj.Disable()
					if err := e.rt.Shutdown(10 * time.Second); err != nil {
						t.Errorf("shutdown: %v", err)
					}
					n := checkInstanceTrees(e.ctx, t, client, ids, mixedOrchestrations)
					m := e.rt.MetricsSnapshot()
					t.Logf("%d instances in %v; %d faults injected; %d histories checked; %d activity runs for %d activities; commits retried %d, provider errors %d",
						len(ids), elapsed.Round(time.Millisecond), inj.Injected(""), n, runs.total(), 8*len(ids), m.CommitsRetried, m.ProviderErrors)
					if inj.Injected("") == 0 {
						t.Errorf("no fault was injected")
					}
					if err := inner.Close(); err != nil {
						t.Errorf("close: %v", err)
					}
					waitGoroutines(t, base)
				})
			}
		}
	}
}

// reliabilityLogger logs errors only: the fault tests provoke warnings by the hundred.
func reliabilityLogger(t *testing.T) *zerolog.Logger {
	l := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	return &l
}

// TestFaultsAtChosenPoints hits chosen calls deterministically: commits that fail more
// often than the runtime retries them (the batch is abandoned and fetched again), a
// commit that succeeds but reports failure on the final turn, a fetch whose reply is
// lost (the instance stays locked until its lock expires), and an activity completion
// that succeeds but reports failure. Each instance completes once, with each completion
// recorded once.
func TestFaultsAtChosenPoints(t *testing.T) {
	cases := []struct {
		name  string
		rules []faultstore.Rule
	}{
		{"commit fails 7 times in a row", []faultstore.Rule{{Op: faultstore.OpCommitOrchestration, Nth: 1, Every: 1, Max: 7}}},
		{"final commit fails after writing", []faultstore.Rule{{Op: faultstore.OpCommitOrchestration, Nth: 2, After: true}}},
		{"fetch reply lost", []faultstore.Rule{{Op: faultstore.OpFetchOrchestration, Nth: 1, Every: 1, Max: 2, After: true}}},
		{"completion written, reply lost", []faultstore.Rule{{Op: faultstore.OpCompleteActivity, Nth: 1, After: true}}},
		{"abandon and renew fail", []faultstore.Rule{
			{Op: faultstore.OpCommitOrchestration, Nth: 1, Every: 1, Max: 5},
			{Op: faultstore.OpAbandonOrchestration},
			faultstore.LoseLock(faultstore.OpRenewOrchestrationLock, 0),
		}},
	}
	orch := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		a, err := yield.Await[int](ctx, ctx.ScheduleActivity("Double", 21))
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eachStore(t, func(t *testing.T, inner history.Store) {
				inj := faultstore.New(inner, 1, tc.rules...)
				e := newEnvOn(t, inj.Store(), duroxide.RuntimeOptions{OrchestratorLockTimeout: 500 * time.Millisecond, Logger: reliabilityLogger(t)})
				defer func() { _ = e.rt.Shutdown(5 * time.Second) }()
				var runs activityRuns
				registerMixed(t, e.rt, &runs)
				e.orchestration("O", orch)
				e.start()
				client := duroxide.NewClient(inner)
				if err := client.StartOrchestration(e.ctx, "chosen", "O", nil); err != nil {
					t.Fatal(err)
				}
				res, err := client.WaitForOrchestration(e.ctx, "chosen", 30*time.Second)
				if err != nil {
					t.Fatalf("wait: %v (faults: %+v)", err, inj.Faults())
				}
				completed(t, res, `42`)
				if inj.Injected("") == 0 {
					t.Fatal("no fault injected")
				}
				inj.Disable()
				checkInstanceTrees(e.ctx, t, client, []string{"chosen"}, map[string]yield.Orchestration{"O": orch})
				if got := runs.total(); got != 1 {
					t.Errorf("activity ran %d times, want 1", got)
				}
			})
		})
	}
}

// allOps are the store operations the runtime calls.
var allOps = []faultstore.Op{
	faultstore.OpCreateInstance, faultstore.OpSendMessage, faultstore.OpInstanceState, faultstore.OpReadHistory,
	faultstore.OpGetKV, faultstore.OpGetAllKV, faultstore.OpFetchOrchestration, faultstore.OpCommitOrchestration,
	faultstore.OpAbandonOrchestration, faultstore.OpRenewOrchestrationLock, faultstore.OpFetchActivity,
	faultstore.OpCompleteActivity, faultstore.OpAbandonActivity, faultstore.OpRenewActivityLock,
	faultstore.OpRenewSessionLocks, faultstore.OpCleanupSessions,
}

// TestFaultsStoreOutage: every store call fails for two seconds while the workload runs
// (a database outage as the runtime sees it); the runtime backs off, and once the store
// answers again every instance finishes correctly.
func TestFaultsStoreOutage(t *testing.T) {
	eachStore(t, func(t *testing.T, inner history.Store) {
		inj := faultstore.New(inner, 7)
		e := newEnvOn(t, inj.Store(), duroxide.RuntimeOptions{OrchestratorLockTimeout: time.Second, WorkerLockTimeout: 2 * time.Second, Logger: reliabilityLogger(t)})
		defer func() { _ = e.rt.Shutdown(5 * time.Second) }()
		var runs activityRuns
		registerMixed(t, e.rt, &runs)
		e.start()
		client := duroxide.NewClient(inner)
		ids := make([]string, 6)
		for i := range ids {
			ids[i] = fmt.Sprintf("outage-%d", i)
			startMixed(e.ctx, t, client, ids[i], i)
		}
		waitFor(t, "the workload to get going", func() bool { return runs.total() >= 2 })
		var rules []faultstore.Rule
		for _, op := range allOps {
			rules = append(rules, faultstore.Rule{Op: op})
		}
		inj.SetRules(rules...)
		time.Sleep(2 * time.Second) // the outage: its length is the point of the test
		failed := inj.Injected("")
		inj.Disable()
		for i, id := range ids {
			res, err := client.WaitForOrchestration(e.ctx, id, 40*time.Second)
			if err != nil {
				t.Fatalf("wait %s: %v", id, err)
			}
			completed(t, res, mixedWant(i))
		}
		if failed == 0 {
			t.Fatal("no call failed during the outage")
		}
		checkInstanceTrees(e.ctx, t, client, ids, mixedOrchestrations)
		t.Logf("%d calls failed during the outage; provider errors %d", failed, e.rt.MetricsSnapshot().ProviderErrors)
	})
}
