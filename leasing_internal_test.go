package duroxide

import (
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// leasedRuntime is a runtime (not started) with two worker places, on a store holding
// one instance whose turn leased two activities; it returns the runtime, the store and
// the commit's lease request and leases.
func leasedRuntime(t *testing.T) (*Runtime, history.Store, *history.ActivityLeaseRequest, []history.ActivityLease) {
	t.Helper()
	s, err := sqlitestore.InMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	rt, err := NewRuntime(s, RuntimeOptions{WorkerConcurrency: 2, WorkerLockTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	rt.workers, rt.leased = 2, make(chan leasedActivity, 2)
	rt.idleWorkers.Store(2)
	if err := s.CreateInstance(ctx, history.Message{Kind: history.MsgStartOrchestration, Instance: "i", ExecutionID: 1, Name: "O"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	works := []history.ActivityWork{{Instance: "i", ExecutionID: 1, ID: 2, Name: "A"}, {Instance: "i", ExecutionID: 1, ID: 3, Name: "A"}}
	c := history.Commit{ExecutionID: 1, Status: history.StatusRunning, Activities: works,
		Delta: []history.Event{{EventID: 1, Kind: history.OrchestrationStarted, Name: "O"}}}
	c.LeaseActivities = rt.leaseRequest(&c)
	if c.LeaseActivities == nil || c.LeaseActivities.Max != 2 {
		t.Fatalf("lease request %+v, want Max 2 (two idle workers)", c.LeaseActivities)
	}
	// A concurrent commit finds every idle worker promised.
	if other := rt.leaseRequest(&c); other != nil {
		t.Fatalf("second lease request %+v while both workers are promised, want none", other)
	}
	// Eligible: the name must be registered here.
	if err := rt.RegisterActivity("A", func(*ActivityContext, yield.Value) (any, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	res, err := s.CommitOrchestration(ctx, l.LockToken, c)
	if err != nil || len(res.Leases) != 2 {
		t.Fatalf("commit: %d leases, %v", len(res.Leases), err)
	}
	return rt, s, c.LeaseActivities, res.Leases
}

// wantFetchable checks that both activities can be fetched now, with attempt 1 (a
// release does not count the lease's attempt).
func wantFetchable(t *testing.T, s history.Store) {
	t.Helper()
	for range 2 {
		a, err := s.FetchActivity(t.Context(), history.FetchActivityRequest{LockTimeout: time.Minute})
		if err != nil || a == nil {
			t.Fatalf("a released lease is not fetchable: %v %v", a, err)
		}
		if a.Attempt != 1 {
			t.Errorf("attempt %d after a release, want 1", a.Attempt)
		}
	}
}

// Leases still waiting for a worker when the runtime stops are released at once.
func TestLeasesWaitingAtShutdownAreReleased(t *testing.T) {
	rt, s, req, leases := leasedRuntime(t)
	rt.dispatchLeases(req, leases)
	if len(rt.leased) != 2 || rt.leaseReserved.Load() != 2 {
		t.Fatalf("%d leases handed over, %d places reserved; want 2 and 2", len(rt.leased), rt.leaseReserved.Load())
	}
	rt.releaseLeases()
	if len(rt.leased) != 0 || rt.leaseReserved.Load() != 0 {
		t.Fatalf("after release: %d waiting, %d reserved", len(rt.leased), rt.leaseReserved.Load())
	}
	wantFetchable(t, s)
}

// A commit finishing after Shutdown began releases its leases instead of handing them
// over; a lease that waited past half its lock is released instead of run.
func TestLeasesReleasedWhenStoppingOrStale(t *testing.T) {
	rt, s, req, leases := leasedRuntime(t)
	rt.stopping.Store(true)
	rt.dispatchLeases(req, leases)
	if len(rt.leased) != 0 || rt.leaseReserved.Load() != 0 {
		t.Fatalf("stopping: %d handed over, %d reserved; want none", len(rt.leased), rt.leaseReserved.Load())
	}
	wantFetchable(t, s)

	rt2, s2, req2, leases2 := leasedRuntime(t)
	rt2.dispatchLeases(req2, leases2)
	for range 2 {
		la := <-rt2.leased
		la.leasedAt = time.Now().Add(-time.Minute)
		if l := rt2.takeLease(la); l != nil {
			t.Fatal("a lease that waited past half its lock was handed to a worker")
		}
	}
	wantFetchable(t, s2)
}
