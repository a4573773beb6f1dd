package faultstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/faultstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
)

func newInner(t *testing.T) history.Store {
	t.Helper()
	s, err := sqlitestore.InMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func start(id string) history.Message {
	return history.Message{Kind: history.MsgStartOrchestration, Instance: id, Name: "O", Version: "1.0.0"}
}

// plain hides every optional interface of a store.
type plain struct{ history.Store }

func TestPassesInterfacesThrough(t *testing.T) {
	s := faultstore.New(newInner(t), 1).Store()
	if _, ok := s.(history.Notifier); !ok {
		t.Error("wrapping sqlitestore: not a Notifier")
	}
	if _, ok := s.(history.Admin); !ok {
		t.Error("wrapping sqlitestore: not an Admin")
	}
	p := faultstore.New(plain{newInner(t)}, 1).Store()
	if _, ok := p.(history.Notifier); ok {
		t.Error("wrapping a plain store: claims Notifier")
	}
	if _, ok := p.(history.Admin); ok {
		t.Error("wrapping a plain store: claims Admin")
	}
}

func TestFailBeforeWritesNothing(t *testing.T) {
	ctx := context.Background()
	inner := newInner(t)
	in := faultstore.New(inner, 1, faultstore.Rule{Op: faultstore.OpCreateInstance, Nth: 2})
	s := in.Store()
	if err := s.CreateInstance(ctx, start("a")); err != nil {
		t.Fatalf("call 1: %v", err)
	}
	err := s.CreateInstance(ctx, start("b"))
	if !history.IsRetryable(err) || !errors.Is(err, faultstore.ErrInjected) {
		t.Fatalf("call 2: got %v, want a retryable injected store error", err)
	}
	if _, err := inner.InstanceState(ctx, "b"); !errors.Is(err, history.ErrNotFound) {
		t.Fatalf("b after a failure before the call: %v, want ErrNotFound", err)
	}
	if err := s.CreateInstance(ctx, start("b")); err != nil {
		t.Fatalf("call 3: %v", err)
	}
	if got := in.Injected(faultstore.OpCreateInstance); got != 1 {
		t.Fatalf("injected %d, want 1", got)
	}
	if got := in.Calls(faultstore.OpCreateInstance); got != 3 {
		t.Fatalf("calls %d, want 3", got)
	}
}

func TestFailAfterWritesButReportsError(t *testing.T) {
	ctx := context.Background()
	inner := newInner(t)
	s := faultstore.New(inner, 1, faultstore.Rule{Op: faultstore.OpCreateInstance, After: true}).Store()
	if err := s.CreateInstance(ctx, start("a")); !history.IsRetryable(err) {
		t.Fatalf("got %v, want a retryable store error", err)
	}
	if _, err := inner.InstanceState(ctx, "a"); err != nil {
		t.Fatalf("a after a failure after the call: %v, want it written", err)
	}
	// The retry meets what the first call did.
	if err := s.CreateInstance(ctx, start("a")); !errors.Is(err, history.ErrAlreadyExists) && !history.IsRetryable(err) {
		t.Fatalf("retry: %v", err)
	}
}

func TestCommitFailuresBeforeAndAfter(t *testing.T) {
	ctx := context.Background()
	inner := newInner(t)
	in := faultstore.New(inner, 1)
	s := in.Store()
	if err := s.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	fetch := func() *history.OrchestrationLease {
		t.Helper()
		l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
		if err != nil || l == nil {
			t.Fatalf("fetch: %v, %v", l, err)
		}
		return l
	}
	l := fetch()
	c := history.Commit{ExecutionID: 1, Status: history.StatusRunning, Delta: []history.Event{
		{EventID: 1, Kind: history.OrchestrationStarted, InstanceID: "i", ExecutionID: 1, Name: "O", Version: "1.0.0"},
	}}
	in.SetRules(faultstore.Rule{Op: faultstore.OpCommitOrchestration, Nth: 1})
	if _, err := s.CommitOrchestration(ctx, l.LockToken, c); !history.IsRetryable(err) {
		t.Fatalf("commit with a failure before: %v", err)
	}
	if h, _ := inner.ReadHistory(ctx, "i", 1); len(h) != 0 {
		t.Fatalf("history after a failure before the commit: %d events, want 0", len(h))
	}
	in.SetRules(faultstore.Rule{Op: faultstore.OpCommitOrchestration, Nth: 1, After: true})
	if _, err := s.CommitOrchestration(ctx, l.LockToken, c); !history.IsRetryable(err) {
		t.Fatalf("commit with a failure after: %v", err)
	}
	if h, _ := inner.ReadHistory(ctx, "i", 1); len(h) != 1 {
		t.Fatalf("history after a failure after the commit: %d events, want 1", len(h))
	}
	// The lock went with the commit: a retry is refused and records nothing twice.
	if _, err := s.CommitOrchestration(ctx, l.LockToken, c); !errors.Is(err, history.ErrLockLost) {
		t.Fatalf("retried commit: %v, want ErrLockLost", err)
	}
	if h, _ := inner.ReadHistory(ctx, "i", 1); len(h) != 1 {
		t.Fatalf("history after the retry: %d events, want 1", len(h))
	}
}

func TestOddsAreSeeded(t *testing.T) {
	run := func(seed uint64) []faultstore.Fault {
		in := faultstore.New(newInner(t), seed, faultstore.Rule{Op: faultstore.OpInstanceState, Odds: 0.3})
		s := in.Store()
		for range 200 {
			_, _ = s.InstanceState(context.Background(), "x")
		}
		return in.Faults()
	}
	a, b := run(7), run(7)
	if len(a) == 0 || len(a) == 200 {
		t.Fatalf("odds 0.3 over 200 calls hit %d", len(a))
	}
	if len(a) != len(b) {
		t.Fatalf("same seed, %d and %d faults", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, fault %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestNthEveryAndMax(t *testing.T) {
	in := faultstore.New(newInner(t), 1, faultstore.Rule{Op: faultstore.OpInstanceState, Nth: 2, Every: 3, Max: 3})
	s := in.Store()
	var hit []int
	for i := 1; i <= 20; i++ {
		if _, err := s.InstanceState(context.Background(), "x"); errors.Is(err, faultstore.ErrInjected) {
			hit = append(hit, i)
		}
	}
	want := []int{2, 5, 8}
	if len(hit) != len(want) || hit[0] != 2 || hit[1] != 5 || hit[2] != 8 {
		t.Fatalf("hit calls %v, want %v", hit, want)
	}
}

func TestLoseLockAndCustomError(t *testing.T) {
	ctx := context.Background()
	inner := newInner(t)
	in := faultstore.New(inner, 1, faultstore.LoseLock(faultstore.OpRenewOrchestrationLock, 1))
	s := in.Store()
	if err := s.CreateInstance(ctx, start("i")); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
	if err != nil || l == nil {
		t.Fatalf("fetch: %v", err)
	}
	if err := s.RenewOrchestrationLock(ctx, l.LockToken, time.Minute); !errors.Is(err, history.ErrLockLost) {
		t.Fatalf("renew 1: %v, want ErrLockLost", err)
	}
	if err := s.RenewOrchestrationLock(ctx, l.LockToken, time.Minute); err != nil {
		t.Fatalf("renew 2: %v", err)
	}
	fatal := errors.New("disk on fire")
	in.SetRules(faultstore.Rule{Op: faultstore.OpAbandonOrchestration, Err: fatal})
	if err := s.AbandonOrchestration(ctx, l.LockToken, 0, false); !errors.Is(err, fatal) || history.IsRetryable(err) {
		t.Fatalf("abandon: %v, want the rule's error", err)
	}
}

func TestDelayAndDisable(t *testing.T) {
	ctx := context.Background()
	in := faultstore.New(newInner(t), 1, faultstore.Rule{Op: faultstore.OpInstanceState, Action: faultstore.Delay, Delay: 50 * time.Millisecond})
	s := in.Store()
	t0 := time.Now()
	if _, err := s.InstanceState(ctx, "x"); !errors.Is(err, history.ErrNotFound) {
		t.Fatalf("delayed call: %v, want the inner result", err)
	}
	if d := time.Since(t0); d < 50*time.Millisecond {
		t.Fatalf("delayed call took %v", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.InstanceState(cctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("delayed call on a cancelled context: %v", err)
	}
	in.Disable()
	t0 = time.Now()
	_, _ = s.InstanceState(ctx, "x")
	if d := time.Since(t0); d >= 50*time.Millisecond {
		t.Fatalf("disabled injector still delays (%v)", d)
	}
	if in.Calls(faultstore.OpInstanceState) != 3 {
		t.Fatalf("calls %d, want 3", in.Calls(faultstore.OpInstanceState))
	}
}
