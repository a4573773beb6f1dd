package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	// longLock is a lock that never expires during a test.
	longLock = time.Minute
	// shortLock is a lock that tests wait out.
	shortLock = 200 * time.Millisecond
	// waitFor bounds every wait on a condition.
	waitFor = 10 * time.Second
	// pollEvery is the pause between two checks of a condition.
	pollEvery = 5 * time.Millisecond
)

// env is one test's store and helpers bound to its *testing.T.
type env struct {
	t   *testing.T
	s   history.Store
	ctx context.Context
}

func newEnv(t *testing.T, newStore func(t *testing.T) history.Store) *env {
	t.Helper()
	s := newStore(t)
	if s == nil {
		t.Fatal("newStore returned nil")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, s: s, ctx: t.Context()}
}

// Messages and events.

func startMsg(instance string) history.Message {
	return history.Message{
		Kind: history.MsgStartOrchestration, Instance: instance, ExecutionID: 1,
		Name: "Orch", Version: "1.0.0", Input: json.RawMessage(`{"instance":"` + instance + `"}`),
	}
}

func childStart(parent, child string, parentEvent uint64) history.Message {
	m := startMsg(child)
	m.Name = "Child"
	m.ParentInstance, m.ParentExecutionID, m.ParentEventID = parent, 1, parentEvent
	return m
}

func raised(instance, name, data string) history.Message {
	return history.Message{Kind: history.MsgExternalRaised, Instance: instance, Name: name, Data: json.RawMessage(data)}
}

func ev(id uint64, kind history.EventKind) history.Event {
	return history.Event{EventID: id, Kind: kind, TimestampMs: 1_000_000 + int64(id)}
}

func startedEv(id uint64) history.Event {
	e := ev(id, history.OrchestrationStarted)
	e.Name, e.Version, e.Input = "Orch", "1.0.0", json.RawMessage(`{"n":1}`)
	return e
}

func activityEv(id uint64, name string) history.Event {
	e := ev(id, history.ActivityScheduled)
	e.Name, e.Input = name, json.RawMessage(`"in"`)
	return e
}

func customEv(id uint64, status *string) history.Event {
	e := ev(id, history.CustomStatusUpdated)
	e.Status = status
	return e
}

func kvSet(id uint64, key, value string) history.Event {
	e := ev(id, history.KeyValueSet)
	e.Key, e.Value = key, value
	return e
}

func kvCleared(id uint64, key string) history.Event {
	e := ev(id, history.KeyValueCleared)
	e.Key = key
	return e
}

func work(instance string, exec, id uint64, name string) history.ActivityWork {
	return history.ActivityWork{
		Instance: instance, ExecutionID: exec, ID: id, Name: name,
		Input: json.RawMessage(`{"b": 2,  "a":"<&>"}`), OrchestrationName: "Orch", OrchestrationVersion: "1.0.0",
	}
}

func completed(instance string, exec, id uint64, result string) *history.Message {
	return &history.Message{Kind: history.MsgActivityCompleted, Instance: instance, ExecutionID: exec, ID: id, Result: json.RawMessage(result)}
}

func strp(s string) *string { return &s }

var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func (e *env) diff(what string, want, got any) {
	e.t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		e.t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// Store calls that must succeed.

func (e *env) create(instance string) history.Message {
	e.t.Helper()
	m := startMsg(instance)
	if err := e.s.CreateInstance(e.ctx, m); err != nil {
		e.t.Fatalf("CreateInstance(%q): %v", instance, err)
	}
	return m
}

func (e *env) send(m history.Message) {
	e.t.Helper()
	if err := e.s.SendMessage(e.ctx, m); err != nil {
		e.t.Fatalf("SendMessage(%s to %q): %v", m.Kind, m.Instance, err)
	}
}

func (e *env) state(instance string) history.InstanceState {
	e.t.Helper()
	st, err := e.s.InstanceState(e.ctx, instance)
	if err != nil {
		e.t.Fatalf("InstanceState(%q): %v", instance, err)
	}
	return st
}

func (e *env) history(instance string, exec uint64) []history.Event {
	e.t.Helper()
	h, err := e.s.ReadHistory(e.ctx, instance, exec)
	if err != nil {
		e.t.Fatalf("ReadHistory(%q, %d): %v", instance, exec, err)
	}
	return h
}

func (e *env) tryFetch(timeout time.Duration) *history.OrchestrationLease {
	e.t.Helper()
	l, err := e.s.FetchOrchestration(e.ctx, history.FetchOrchestrationRequest{LockTimeout: timeout})
	if err != nil {
		e.t.Fatalf("FetchOrchestration: %v", err)
	}
	return l
}

// fetch fetches and expects a lease for instance.
func (e *env) fetch(instance string) *history.OrchestrationLease {
	e.t.Helper()
	return e.fetchFor(instance, longLock)
}

func (e *env) fetchFor(instance string, timeout time.Duration) *history.OrchestrationLease {
	e.t.Helper()
	l := e.tryFetch(timeout)
	if l == nil {
		e.t.Fatalf("FetchOrchestration: no work, want a lease for %q", instance)
	}
	if l.Instance != instance {
		e.t.Fatalf("FetchOrchestration: lease for %q, want %q", l.Instance, instance)
	}
	if l.LockToken == "" {
		e.t.Fatalf("FetchOrchestration: lease for %q without a lock token", instance)
	}
	return l
}

func (e *env) noFetch() {
	e.t.Helper()
	if l := e.tryFetch(longLock); l != nil {
		e.t.Fatalf("FetchOrchestration: got a lease for %q with %d messages, want no work", l.Instance, len(l.Messages))
	}
}

// waitFetch polls until a fetch returns a lease, which must be for instance.
func (e *env) waitFetch(instance string, timeout time.Duration) *history.OrchestrationLease {
	e.t.Helper()
	l := eventually(e.t, "a lease for "+instance, func() (*history.OrchestrationLease, bool) {
		l := e.tryFetch(timeout)
		return l, l != nil
	})
	if l.Instance != instance {
		e.t.Fatalf("FetchOrchestration: lease for %q, want %q", l.Instance, instance)
	}
	return l
}

func (e *env) commit(l *history.OrchestrationLease, c history.Commit) history.CommitResult {
	e.t.Helper()
	r, err := e.s.CommitOrchestration(e.ctx, l.LockToken, c)
	if err != nil {
		e.t.Fatalf("CommitOrchestration(%q): %v", l.Instance, err)
	}
	return r
}

// turn fetches the next lease (which must be for instance) and commits c.
func (e *env) turn(instance string, c history.Commit) (*history.OrchestrationLease, history.CommitResult) {
	e.t.Helper()
	l := e.fetch(instance)
	return l, e.commit(l, c)
}

// startTurn creates an instance and commits its first turn (OrchestrationStarted plus
// the given events), leaving it Running with an empty queue.
func (e *env) startTurn(instance string, more ...history.Event) {
	e.t.Helper()
	e.create(instance)
	e.turn(instance, history.Commit{ExecutionID: 1, Delta: append([]history.Event{startedEv(1)}, more...), Status: history.StatusRunning})
}

// tryFetchActivity fetches with the Any tag filter and as a session owner, so that it
// sees every activity: the tests of tag_filtering (tags.go) and sessions (sessions.go)
// fetch with the other settings.
func (e *env) tryFetchActivity(timeout time.Duration) *history.ActivityLease {
	e.t.Helper()
	l, err := e.s.FetchActivity(e.ctx, history.FetchActivityRequest{LockTimeout: timeout, Tags: history.AnyTag(),
		Session: &history.SessionFetch{Owner: "storetest", LockTimeout: longLock}})
	if err != nil {
		e.t.Fatalf("FetchActivity: %v", err)
	}
	return l
}

func (e *env) fetchActivity(id uint64) *history.ActivityLease {
	e.t.Helper()
	l := e.tryFetchActivity(longLock)
	if l == nil {
		e.t.Fatalf("FetchActivity: no work, want activity %d", id)
	}
	if l.Work.ID != id || l.LockToken == "" {
		e.t.Fatalf("FetchActivity: activity %d (token %q), want %d", l.Work.ID, l.LockToken, id)
	}
	return l
}

func (e *env) noActivity() {
	e.t.Helper()
	if l := e.tryFetchActivity(longLock); l != nil {
		e.t.Fatalf("FetchActivity: got activity %s#%d of %q, want none", l.Work.Name, l.Work.ID, l.Work.Instance)
	}
}

func (e *env) wantErr(what string, err, target error) {
	e.t.Helper()
	if !errors.Is(err, target) {
		e.t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

// eventually polls f until it reports true, failing the test after waitFor.
func eventually[T any](t *testing.T, what string, f func() (T, bool)) T {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		if v, ok := f(); ok {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitFor, what)
		}
		time.Sleep(pollEvery)
	}
}

// received waits for a signal on ch.
func received(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitFor):
		t.Fatalf("no signal on %s within %v", what, waitFor)
	}
}

// drain empties a coalescing channel.
func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func kinds(ms []history.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%s(%s)", m.Kind, m.Instance)
	}
	return out
}

// expiryMargin is how long past a lock's timeout waitOut waits: the stores count in
// milliseconds, so a few of them cover the rounding.
const expiryMargin = 25 * time.Millisecond

// waitOut waits until a lock of the given timeout, taken no later than at, has
// expired. It is for the cases where nothing may take the item over, so there is no
// condition to poll: the wait is the lock's own timeout.
func waitOut(at time.Time, timeout time.Duration) {
	time.Sleep(time.Until(at.Add(timeout + expiryMargin)))
}

// fetchLockedAt fetches instance with a lock of timeout and returns the lease with a
// time no earlier than the store's clock when it took the lock.
func (e *env) fetchLockedAt(instance string, timeout time.Duration) (*history.OrchestrationLease, time.Time) {
	e.t.Helper()
	l := e.fetchFor(instance, timeout)
	return l, time.Now()
}

// scheduled creates instance and commits its first turn, which schedules one activity
// per event id, in that order; it returns their work items.
func (e *env) scheduled(instance string, ids ...uint64) []history.ActivityWork {
	e.t.Helper()
	delta := []history.Event{startedEv(1)}
	var works []history.ActivityWork
	for _, id := range ids {
		name := fmt.Sprintf("A%d", id)
		delta = append(delta, activityEv(id, name))
		works = append(works, work(instance, 1, id, name))
	}
	e.create(instance)
	e.turn(instance, history.Commit{ExecutionID: 1, Delta: delta, Status: history.StatusRunning, Activities: works})
	return works
}

// fetchActivityFor fetches with a lock of timeout and expects activity id of instance.
func (e *env) fetchActivityFor(instance string, id uint64, timeout time.Duration) *history.ActivityLease {
	e.t.Helper()
	l := e.tryFetchActivity(timeout)
	if l == nil {
		e.t.Fatalf("FetchActivity: no work, want activity %d of %q", id, instance)
	}
	if l.Work.Instance != instance || l.Work.ID != id || l.LockToken == "" {
		e.t.Fatalf("FetchActivity: activity %d of %q (token %q), want %d of %q", l.Work.ID, l.Work.Instance, l.LockToken, id, instance)
	}
	return l
}

// waitActivity polls until an activity is fetchable, which must be id of instance.
func (e *env) waitActivity(instance string, id uint64) *history.ActivityLease {
	e.t.Helper()
	l := eventually(e.t, fmt.Sprintf("activity %d of %s", id, instance), func() (*history.ActivityLease, bool) {
		l := e.tryFetchActivity(longLock)
		return l, l != nil
	})
	if l.Work.Instance != instance || l.Work.ID != id {
		e.t.Fatalf("FetchActivity: activity %d of %q, want %d of %q", l.Work.ID, l.Work.Instance, id, instance)
	}
	return l
}

func (e *env) completeActivity(l *history.ActivityLease, completion *history.Message) {
	e.t.Helper()
	if err := e.s.CompleteActivity(e.ctx, l.LockToken, completion); err != nil {
		e.t.Fatalf("CompleteActivity(%s#%d of %q): %v", l.Work.Name, l.Work.ID, l.Work.Instance, err)
	}
}

// poke sends an event to instance so that it has a turn to run.
func (e *env) poke(instance string) {
	e.t.Helper()
	e.send(raised(instance, "poke", `{}`))
}

// pokeTurn pokes instance and commits a turn of execution exec with delta, leaving the
// instance Running; it returns the turn's lease.
func (e *env) pokeTurn(instance string, exec uint64, delta ...history.Event) *history.OrchestrationLease {
	e.t.Helper()
	e.poke(instance)
	l, _ := e.turn(instance, history.Commit{ExecutionID: exec, Delta: delta, Status: history.StatusRunning})
	return l
}

// continueAsNew pokes instance, ends execution exec with a continue-as-new (event id
// canID), and commits the first turn of execution exec+1: OrchestrationStarted, then
// next. It returns that first turn's lease, whose KV is what the new execution starts
// from.
func (e *env) continueAsNew(instance string, exec, canID uint64, next ...history.Event) *history.OrchestrationLease {
	e.t.Helper()
	e.poke(instance)
	can := ev(canID, history.OrchestrationContinuedAsNew)
	can.Input = json.RawMessage(fmt.Sprintf(`{"execution":%d}`, exec+1))
	e.turn(instance, history.Commit{ExecutionID: exec, Delta: []history.Event{can}, Status: history.StatusContinuedAsNew,
		Output: can.Input, Messages: []history.Message{{Kind: history.MsgContinueAsNew, Instance: instance, ExecutionID: exec, Name: "Orch", Input: can.Input}}})
	l, _ := e.turn(instance, history.Commit{ExecutionID: exec + 1, Delta: append([]history.Event{startedEv(1)}, next...),
		Status: history.StatusRunning})
	return l
}

// wantKV checks instance's key through GetKV: want is its value, nil for absent.
func (e *env) wantKV(instance, key string, want *string) {
	e.t.Helper()
	v, ok, err := e.s.GetKV(e.ctx, instance, key)
	if err != nil {
		e.t.Fatalf("GetKV(%q, %q): %v", instance, key, err)
	}
	switch {
	case want == nil && ok:
		e.t.Errorf("GetKV(%q, %q) = %q, want absent", instance, key, v)
	case want != nil && (!ok || v != *want):
		e.t.Errorf("GetKV(%q, %q) = %q (found %v), want %q", instance, key, v, ok, *want)
	}
}

func (e *env) allKV(instance string) map[string]string {
	e.t.Helper()
	m, err := e.s.GetAllKV(e.ctx, instance)
	if err != nil {
		e.t.Fatalf("GetAllKV(%q): %v", instance, err)
	}
	return m
}

// snapshot renders a lease's KV snapshot as key → value.
func snapshot(l *history.OrchestrationLease) map[string]string {
	m := make(map[string]string, len(l.KV))
	for k, en := range l.KV {
		m[k] = en.Value
	}
	return m
}
