package duroxide_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

func mustNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want one wrapping %v", what, err, target)
	}
}

// registerAdminOrchestrations registers Counter (continues as new until its input is 2,
// writing a KV key, then completes), Waiter (waits for event "go"), Failer, Quick, and
// Parent (starts Waiter as child <id>-child and returns its output).
func registerAdminOrchestrations(e *env) {
	e.orchestration("Counter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		ctx.SetKVValue("round", "value")
		if n < 2 {
			return ctx.Yield(ctx.ContinueAsNew(n + 1))
		}
		return "done", nil
	})
	e.orchestration("Waiter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.WaitForEvent("go"))
	})
	e.orchestration("Failer", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return nil, errors.New("boom")
	})
	e.orchestration("Quick", func(ctx *yield.Ctx, in yield.Value) (any, error) { return in, nil })
	e.orchestration("Sleeper", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleTimer(time.Hour))
	})
	e.orchestration("Parent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleSubOrchestrationWithID("Waiter", ctx.InstanceID()+"-child", nil))
	})
}

func TestAdminInspect(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		registerAdminOrchestrations(e)
		e.start()
		c := e.client
		completed(t, e.run("cnt", "Counter", 0), `"done"`)
		if res := e.run("fail", "Failer", nil); res.Status != duroxide.StatusFailed {
			t.Fatalf("Failer: %s", res.Status)
		}
		mustNoErr(t, "start wait", c.StartOrchestration(e.ctx, "wait", "Waiter", nil))
		waitFor(t, "Waiter's first turn", func() bool {
			h, err := c.ReadExecutionHistory(e.ctx, "wait", 0)
			return err == nil && len(h) > 0
		})

		all, err := c.ListAllInstances(e.ctx)
		mustNoErr(t, "ListAllInstances", err)
		slices.Sort(all)
		if !slices.Equal(all, []string{"cnt", "fail", "wait"}) {
			t.Fatalf("ListAllInstances = %v", all)
		}
		for status, want := range map[string]string{"Completed": "cnt", "Failed": "fail", "Running": "wait"} {
			ids, err := c.ListInstancesByStatus(e.ctx, status)
			mustNoErr(t, "ListInstancesByStatus", err)
			if !slices.Equal(ids, []string{want}) {
				t.Errorf("ListInstancesByStatus(%s) = %v, want [%s]", status, ids, want)
			}
		}

		info, err := c.GetInstanceInfo(e.ctx, "cnt")
		mustNoErr(t, "GetInstanceInfo", err)
		if info.InstanceID != "cnt" || info.OrchestrationName != "Counter" || info.CurrentExecutionID != 3 ||
			info.Status != "Completed" || string(info.Output) != `"done"` || info.ParentInstanceID != "" || info.CreatedAtMs == 0 {
			t.Errorf("GetInstanceInfo(cnt) = %+v", info)
		}
		if info, err := c.GetInstanceInfo(e.ctx, "fail"); err != nil || info.Error == "" || info.Status != "Failed" {
			t.Errorf("GetInstanceInfo(fail) = %+v, %v", info, err)
		}
		_, err = c.GetInstanceInfo(e.ctx, "ghost")
		wantIs(t, "GetInstanceInfo(ghost)", err, duroxide.ErrNotFound)

		execs, err := c.ListExecutions(e.ctx, "cnt")
		mustNoErr(t, "ListExecutions", err)
		if !slices.Equal(execs, []uint64{1, 2, 3}) {
			t.Fatalf("ListExecutions(cnt) = %v", execs)
		}
		if execs, err := c.ListExecutions(e.ctx, "ghost"); err != nil || len(execs) != 0 {
			t.Errorf("ListExecutions(ghost) = %v, %v", execs, err)
		}
		ei, err := c.GetExecutionInfo(e.ctx, "cnt", 1)
		mustNoErr(t, "GetExecutionInfo", err)
		if ei.ExecutionID != 1 || ei.Status != history.StatusContinuedAsNew || ei.CompletedAtMs == 0 || ei.EventCount == 0 || ei.StartedAtMs == 0 {
			t.Errorf("GetExecutionInfo(cnt, 1) = %+v", ei)
		}
		ei, err = c.GetExecutionInfo(e.ctx, "cnt", 3)
		mustNoErr(t, "GetExecutionInfo", err)
		if ei.Status != history.StatusCompleted || string(ei.Output) != `"done"` {
			t.Errorf("GetExecutionInfo(cnt, 3) = %+v", ei)
		}
		if ei, err := c.GetExecutionInfo(e.ctx, "wait", 1); err != nil || ei.Status != history.StatusRunning || ei.CompletedAtMs != 0 {
			t.Errorf("GetExecutionInfo(wait, 1) = %+v, %v", ei, err)
		}
		_, err = c.GetExecutionInfo(e.ctx, "cnt", 9)
		wantIs(t, "GetExecutionInfo(cnt, 9)", err, duroxide.ErrNotFound)

		h, err := c.ReadExecutionHistory(e.ctx, "cnt", 1)
		mustNoErr(t, "ReadExecutionHistory", err)
		if len(h) == 0 || h[0].Kind != history.OrchestrationStarted || h[len(h)-1].Kind != history.OrchestrationContinuedAsNew {
			t.Errorf("ReadExecutionHistory(cnt, 1) = %v", h)
		}

		st, err := c.GetOrchestrationStats(e.ctx, "cnt")
		mustNoErr(t, "GetOrchestrationStats", err)
		if st.HistoryEventCount == 0 || st.HistorySizeBytes == 0 || st.KVUserKeyCount != 1 || st.KVTotalValueBytes != int64(len("value")) || st.QueuePendingCount != 0 {
			t.Errorf("GetOrchestrationStats(cnt) = %+v", st)
		}
		_, err = c.GetOrchestrationStats(e.ctx, "ghost")
		wantIs(t, "GetOrchestrationStats(ghost)", err, duroxide.ErrNotFound)

		m, err := c.GetSystemMetrics(e.ctx)
		mustNoErr(t, "GetSystemMetrics", err)
		if m.TotalInstances != 3 || m.TotalExecutions != 5 || m.RunningInstances != 1 || m.CompletedInstances != 1 || m.FailedInstances != 1 || m.TotalEvents == 0 {
			t.Errorf("GetSystemMetrics = %+v", m)
		}

		// Prune keeps the newest executions and leaves the KV store alone.
		pr, err := c.PruneExecutions(e.ctx, "cnt", duroxide.PruneOptions{KeepLast: 2})
		mustNoErr(t, "PruneExecutions", err)
		if pr.InstancesProcessed != 1 || pr.ExecutionsDeleted != 1 || pr.EventsDeleted == 0 {
			t.Errorf("PruneExecutions(keep 2) = %+v", pr)
		}
		if execs, _ := c.ListExecutions(e.ctx, "cnt"); !slices.Equal(execs, []uint64{2, 3}) {
			t.Errorf("after prune: executions %v, want [2 3]", execs)
		}
		pr, err = c.PruneExecutions(e.ctx, "cnt", duroxide.PruneOptions{})
		mustNoErr(t, "PruneExecutions", err)
		if pr.ExecutionsDeleted != 1 {
			t.Errorf("PruneExecutions({}) = %+v", pr)
		}
		if v, ok, err := c.GetKVValue(e.ctx, "cnt", "round"); err != nil || !ok || v != "value" {
			t.Errorf("KV after prune: %q %v %v", v, ok, err)
		}
		if res, err := c.GetStatus(e.ctx, "cnt"); err != nil || res.Status != duroxide.StatusCompleted {
			t.Errorf("status after prune: %+v %v", res, err)
		}
		_, err = c.PruneExecutions(e.ctx, "ghost", duroxide.PruneOptions{})
		wantIs(t, "PruneExecutions(ghost)", err, duroxide.ErrNotFound)
	})
}

func TestAdminTreeAndDelete(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		registerAdminOrchestrations(e)
		e.start()
		c := e.client
		mustNoErr(t, "start", c.StartOrchestration(e.ctx, "p", "Parent", nil))
		waitFor(t, "the child", func() bool {
			_, err := c.GetInstanceInfo(e.ctx, "p-child")
			return err == nil
		})
		tree, err := c.GetInstanceTree(e.ctx, "p")
		mustNoErr(t, "GetInstanceTree", err)
		if tree.RootID != "p" || !slices.Equal(tree.AllIDs, []string{"p", "p-child"}) || tree.Size() != 2 || tree.IsRootOnly() {
			t.Fatalf("GetInstanceTree(p) = %+v", tree)
		}
		if tree, err := c.GetInstanceTree(e.ctx, "p-child"); err != nil || !tree.IsRootOnly() {
			t.Errorf("GetInstanceTree(p-child) = %+v, %v", tree, err)
		}
		if info, err := c.GetInstanceInfo(e.ctx, "p-child"); err != nil || info.ParentInstanceID != "p" {
			t.Errorf("GetInstanceInfo(p-child) = %+v, %v", info, err)
		}

		for _, force := range []bool{false, true} {
			_, err = c.DeleteInstance(e.ctx, "p-child", force)
			wantIs(t, "DeleteInstance(child)", err, duroxide.ErrIsSubOrchestration)
		}
		_, err = c.DeleteInstance(e.ctx, "p", false)
		wantIs(t, "DeleteInstance(running p)", err, duroxide.ErrStillRunning)
		_, err = c.DeleteInstance(e.ctx, "ghost", false)
		wantIs(t, "DeleteInstance(ghost)", err, duroxide.ErrNotFound)

		mustNoErr(t, "RaiseEvent", c.RaiseEvent(e.ctx, "p-child", "go", "x"))
		completed(t, e.wait("p"), `"x"`)
		res, err := c.DeleteInstance(e.ctx, "p", false)
		mustNoErr(t, "DeleteInstance(p)", err)
		if res.InstancesDeleted != 2 || res.ExecutionsDeleted != 2 || res.EventsDeleted == 0 {
			t.Errorf("DeleteInstance(p) = %+v", res)
		}
		for _, id := range []string{"p", "p-child"} {
			_, err := c.GetInstanceInfo(e.ctx, id)
			wantIs(t, "GetInstanceInfo after delete", err, duroxide.ErrNotFound)
		}
		// The id is free again.
		completed(t, e.run("p", "Quick", 7), `7`)
	})
}

func TestAdminForceDelete(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		registerAdminOrchestrations(e)
		c := e.client
		// A turn in flight (fetched, not committed) while the instance is force-deleted:
		// its commit fails with ErrLockLost and recreates nothing.
		mustNoErr(t, "start", c.StartOrchestration(e.ctx, "race", "Quick", 1))
		lease, err := e.store.FetchOrchestration(e.ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
		if err != nil || lease == nil || lease.Instance != "race" {
			t.Fatalf("FetchOrchestration = %+v, %v", lease, err)
		}
		_, err = c.DeleteInstance(e.ctx, "race", false)
		wantIs(t, "DeleteInstance(running)", err, duroxide.ErrStillRunning)
		res, err := c.DeleteInstance(e.ctx, "race", true)
		mustNoErr(t, "DeleteInstance(force)", err)
		if res.InstancesDeleted != 1 || res.QueueMessagesDeleted != 1 {
			t.Errorf("DeleteInstance(force) = %+v", res)
		}
		_, err = e.store.CommitOrchestration(e.ctx, lease.LockToken, history.Commit{
			ExecutionID: 1, Status: history.StatusCompleted, Output: []byte(`1`),
			Delta: []history.Event{{EventID: 1, Kind: history.OrchestrationStarted, Name: "Quick", Version: "1.0.0", TimestampMs: 1}},
		})
		wantIs(t, "commit after force delete", err, history.ErrLockLost)
		if _, err := c.GetInstanceInfo(e.ctx, "race"); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("instance recreated by a racing commit: %v", err)
		}

		// With a runtime: a running instance force-deleted stays gone.
		e.start()
		mustNoErr(t, "start", c.StartOrchestration(e.ctx, "w", "Waiter", nil))
		waitFor(t, "Waiter's first turn", func() bool {
			h, err := c.ReadExecutionHistory(e.ctx, "w", 0)
			return err == nil && len(h) > 0
		})
		_, err = c.DeleteInstance(e.ctx, "w", true)
		mustNoErr(t, "DeleteInstance(w, force)", err)
		wantIs(t, "RaiseEvent to a deleted instance", c.RaiseEvent(e.ctx, "w", "go", 1), duroxide.ErrNotFound)
		completed(t, e.run("after", "Quick", 2), `2`)
		if ids, _ := c.ListAllInstances(e.ctx); !slices.Equal(ids, []string{"after"}) {
			t.Errorf("instances %v, want [after]", ids)
		}
		// The id can be used again: a runtime that cached the deleted instance must not
		// mistake the new one for it.
		completed(t, e.run("w", "Quick", 3), `3`)
	})
}

func TestAdminBulkMetricsDepths(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		registerAdminOrchestrations(e)
		c := e.client
		d0, err := c.GetQueueDepths(e.ctx)
		mustNoErr(t, "GetQueueDepths", err)
		if d0 != (duroxide.QueueDepths{}) {
			t.Errorf("depths of an empty store: %+v", d0)
		}
		for _, id := range []string{"q1", "q2", "q3"} {
			mustNoErr(t, "start", c.StartOrchestration(e.ctx, id, "Quick", id))
		}
		d, err := c.GetQueueDepths(e.ctx)
		mustNoErr(t, "GetQueueDepths", err)
		if d.OrchestratorQueue != 3 || d.WorkerQueue != 0 || d.TimerQueue != 0 {
			t.Errorf("depths after 3 starts: %+v", d)
		}
		m, err := c.GetSystemMetrics(e.ctx)
		mustNoErr(t, "GetSystemMetrics", err)
		if m.TotalInstances != 3 || m.RunningInstances != 3 || m.TotalEvents != 0 {
			t.Errorf("metrics before the runtime: %+v", m)
		}
		e.start()
		for _, id := range []string{"q1", "q2", "q3"} {
			e.wait(id)
		}
		mustNoErr(t, "start", c.StartOrchestration(e.ctx, "sleep", "Sleeper", nil))
		waitFor(t, "the pending timer", func() bool {
			d, err := c.GetQueueDepths(e.ctx)
			return err == nil && d.TimerQueue == 1 && d.OrchestratorQueue == 0
		})
		m, err = c.GetSystemMetrics(e.ctx)
		mustNoErr(t, "GetSystemMetrics", err)
		if m.TotalInstances != 4 || m.RunningInstances != 1 || m.CompletedInstances != 3 || m.TotalEvents == 0 {
			t.Errorf("metrics after the runs: %+v", m)
		}

		res, err := c.DeleteInstanceBulk(e.ctx, duroxide.InstanceFilter{InstanceIDs: []string{}})
		mustNoErr(t, "DeleteInstanceBulk(empty list)", err)
		if res != (duroxide.DeleteInstanceResult{}) {
			t.Errorf("DeleteInstanceBulk(empty list) = %+v", res)
		}
		res, err = c.DeleteInstanceBulk(e.ctx, duroxide.InstanceFilter{CompletedBeforeMs: 1})
		mustNoErr(t, "DeleteInstanceBulk(completed before 1)", err)
		if res.InstancesDeleted != 0 {
			t.Errorf("DeleteInstanceBulk(completed before 1) = %+v", res)
		}
		res, err = c.DeleteInstanceBulk(e.ctx, duroxide.InstanceFilter{Limit: 2})
		mustNoErr(t, "DeleteInstanceBulk(limit 2)", err)
		if res.InstancesDeleted != 2 || res.ExecutionsDeleted != 2 {
			t.Errorf("DeleteInstanceBulk(limit 2) = %+v", res)
		}
		res, err = c.DeleteInstanceBulk(e.ctx, duroxide.InstanceFilter{})
		mustNoErr(t, "DeleteInstanceBulk", err)
		if res.InstancesDeleted != 1 {
			t.Errorf("DeleteInstanceBulk = %+v", res)
		}
		ids, err := c.ListAllInstances(e.ctx)
		mustNoErr(t, "ListAllInstances", err)
		if !slices.Equal(ids, []string{"sleep"}) {
			t.Errorf("after bulk delete: %v, want the running instance only", ids)
		}
	})
}

// plainStore hides the store's admin methods.
type plainStore struct{ history.Store }

func TestAdminNotAvailable(t *testing.T) {
	s := openStore(t, "sqlite-mem")
	defer s.Close()
	c := duroxide.NewClient(plainStore{s})
	ctx := context.Background()
	_, err := c.ListAllInstances(ctx)
	wantIs(t, "ListAllInstances", err, duroxide.ErrManagementNotAvailable)
	_, err = c.DeleteInstance(ctx, "x", true)
	wantIs(t, "DeleteInstance", err, duroxide.ErrManagementNotAvailable)
	_, err = c.GetSystemMetrics(ctx)
	wantIs(t, "GetSystemMetrics", err, duroxide.ErrManagementNotAvailable)
}

// TestAdminForceDeleteRacesCommit runs force deletes concurrently with commits of the
// same instances: whichever wins, the commit either succeeds or fails with ErrLockLost,
// the delete succeeds, and nothing of the instance is left or recreated.
func TestAdminForceDeleteRacesCommit(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			s := openStore(t, kind)
			defer s.Close()
			a := s.(history.Admin)
			ctx := context.Background()
			c := duroxide.NewClient(s)
			for i := range 20 {
				id := "race-" + string(rune('a'+i))
				mustNoErr(t, "start", c.StartOrchestration(ctx, id, "Quick", i))
				lease, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute})
				if err != nil || lease == nil {
					t.Fatalf("FetchOrchestration = %+v, %v", lease, err)
				}
				errs := make(chan error, 2)
				go func() {
					_, err := s.CommitOrchestration(ctx, lease.LockToken, history.Commit{
						ExecutionID: 1, Status: history.StatusRunning,
						Delta: []history.Event{
							{EventID: 1, Kind: history.OrchestrationStarted, Name: "Quick", Version: "1.0.0", TimestampMs: 1},
							{EventID: 2, Kind: history.ActivityScheduled, Name: "Act", TimestampMs: 1},
						},
						Activities: []history.ActivityWork{{Instance: id, ExecutionID: 1, ID: 2, Name: "Act"}},
						Messages:   []history.Message{{Kind: history.MsgTimerFired, Instance: id, ExecutionID: 1, ID: 3, FireAtMs: time.Now().Add(time.Hour).UnixMilli()}},
					})
					if errors.Is(err, history.ErrLockLost) {
						err = nil
					}
					errs <- err
				}()
				go func() {
					_, err := a.DeleteInstances(ctx, []string{id}, true)
					errs <- err
				}()
				for range 2 {
					if err := <-errs; err != nil {
						t.Fatalf("%s: %v", id, err)
					}
				}
				if _, err := s.InstanceState(ctx, id); !errors.Is(err, history.ErrNotFound) {
					t.Fatalf("%s after the race: %v", id, err)
				}
			}
			d, err := a.QueueDepths(ctx)
			mustNoErr(t, "QueueDepths", err)
			m, err := a.SystemMetrics(ctx)
			mustNoErr(t, "SystemMetrics", err)
			if d != (history.QueueDepths{}) || m != (history.SystemMetrics{}) {
				t.Errorf("left after the races: %+v %+v", d, m)
			}
		})
	}
}
