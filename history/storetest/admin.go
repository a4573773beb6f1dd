package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// adminTests are the ports of the management, deletion, bulk_deletion and prune modules
// (and the KV tests that need deletion or prune); they run when the store implements
// history.Admin.
var adminTests = []struct {
	name string
	fn   func(e *env, a history.Admin)
}{
	// management
	{"ListInstances", testListInstances},
	{"ListInstancesByStatus", testListInstancesByStatus},
	{"ListExecutions", testListExecutions},
	{"GetInstanceInfo", testGetInstanceInfo},
	{"GetExecutionInfo", testGetExecutionInfo},
	{"GetSystemMetrics", testGetSystemMetrics},
	{"GetQueueDepths", testGetQueueDepths},
	// deletion
	{"DeleteTerminalInstances", testDeleteTerminalInstances},
	{"DeleteRunningRejectedForceSucceeds", testDeleteRunningRejectedForceSucceeds},
	{"DeleteNonexistentInstance", testDeleteNonexistentInstance},
	{"DeleteCleansQueuesAndLocks", testDeleteCleansQueuesAndLocks},
	{"CascadeDeleteHierarchy", testCascadeDeleteHierarchy},
	{"ForceDeletePreventsAckRecreation", testForceDeletePreventsAckRecreation},
	{"ListChildren", testListChildren},
	{"DeleteGetParentId", testDeleteGetParentID},
	{"DeleteInstancesAtomic", testDeleteInstancesAtomic},
	{"DeleteInstancesAtomicForce", testDeleteInstancesAtomicForce},
	{"DeleteInstancesAtomicOrphanDetection", testDeleteInstancesAtomicOrphanDetection},
	{"StaleActivityAfterDeleteRecreate", testStaleActivityAfterDeleteRecreate},
	// bulk_deletion
	{"DeleteInstanceBulkFilterCombinations", testDeleteInstanceBulkFilterCombinations},
	{"DeleteInstanceBulkSafetyAndLimits", testDeleteInstanceBulkSafetyAndLimits},
	{"DeleteInstanceBulkCompletedBeforeFilter", testDeleteInstanceBulkCompletedBeforeFilter},
	{"DeleteInstanceBulkCascadesToChildren", testDeleteInstanceBulkCascadesToChildren},
	// prune
	{"PruneOptionsCombinations", testPruneOptionsCombinations},
	{"PruneSafety", testPruneSafety},
	{"PruneBulk", testPruneBulk},
	{"PruneBulkIncludesRunningInstances", testPruneBulkIncludesRunningInstances},
	// kv_store tests needing prune or deletion
	{"KvPrunePreservesAllKeys", testKvPrunePreservesAllKeys},
	{"KvPruneCurrentExecutionProtected", testKvPruneCurrentExecutionProtected},
	{"KvDeleteInstanceCascades", testKvDeleteInstanceCascades},
	{"KvDeleteInstanceWithChildren", testKvDeleteInstanceWithChildren},
}

// runAdmin runs adminTests when the stores implement history.Admin.
func runAdmin(t *testing.T, newStore func(t *testing.T) history.Store) {
	for _, tc := range adminTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, newStore)
			a, ok := e.s.(history.Admin)
			if !ok {
				t.Skip("the store does not implement history.Admin")
			}
			tc.fn(e, a)
		})
	}
}

// Setup helpers.

// finish ends the current execution exec of a running instance with status.
func (e *env) finish(instance string, exec uint64, nextID uint64, status history.ExecStatus) {
	e.t.Helper()
	e.poke(instance)
	c := history.Commit{ExecutionID: exec, Status: status}
	if status == history.StatusFailed {
		c.Error = history.Application(history.KindOrchestrationFailed, "boom")
		ev := ev(nextID, history.OrchestrationFailed)
		ev.Error = c.Error
		c.Delta = []history.Event{ev}
	} else {
		c.Output = json.RawMessage(`"result"`)
		ev := ev(nextID, history.OrchestrationCompleted)
		ev.Result = c.Output
		c.Delta = []history.Event{ev}
	}
	e.turn(instance, c)
}

// terminal creates an instance with execs executions and ends the last with status.
func (e *env) terminal(instance string, execs uint64, status history.ExecStatus) {
	e.t.Helper()
	e.startTurn(instance)
	for x := uint64(1); x < execs; x++ {
		e.continueAsNew(instance, x, 2)
	}
	e.finish(instance, execs, 2, status)
}

// withChild creates child (running) under a running parent through the parent's commit.
func (e *env) withChild(parent, child string) {
	e.t.Helper()
	e.poke(parent)
	e.turn(parent, history.Commit{ExecutionID: e.state(parent).ExecutionID, Status: history.StatusRunning,
		Messages: []history.Message{childStart(parent, child, 2)}})
	e.turn(child, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)}, Status: history.StatusRunning})
}

func (e *env) wantNotFound(instance string) {
	e.t.Helper()
	_, err := e.s.InstanceState(e.ctx, instance)
	e.wantErr("InstanceState("+instance+")", err, history.ErrNotFound)
}

func (e *env) executions(a history.Admin, instance string) []uint64 {
	e.t.Helper()
	x, err := a.ListExecutions(e.ctx, instance)
	if err != nil {
		e.t.Fatalf("ListExecutions(%q): %v", instance, err)
	}
	return x
}

func (e *env) del(a history.Admin, ids []string, force bool) history.DeleteResult {
	e.t.Helper()
	r, err := a.DeleteInstances(e.ctx, ids, force)
	if err != nil {
		e.t.Fatalf("DeleteInstances(%v, %v): %v", ids, force, err)
	}
	return r
}

func (e *env) bulk(a history.Admin, f history.InstanceFilter) history.DeleteResult {
	e.t.Helper()
	r, err := a.DeleteInstancesBulk(e.ctx, f)
	if err != nil {
		e.t.Fatalf("DeleteInstancesBulk(%+v): %v", f, err)
	}
	return r
}

func (e *env) prune(a history.Admin, instance string, o history.PruneOptions) history.PruneResult {
	e.t.Helper()
	r, err := a.PruneExecutions(e.ctx, instance, o)
	if err != nil {
		e.t.Fatalf("PruneExecutions(%q, %+v): %v", instance, o, err)
	}
	return r
}

func (e *env) list(a history.Admin, status history.ExecStatus) []string {
	e.t.Helper()
	ids, err := a.ListInstances(e.ctx, status)
	if err != nil {
		e.t.Fatalf("ListInstances(%q): %v", status, err)
	}
	return ids
}

// management

func testListInstances(e *env, a history.Admin) {
	for _, id := range []string{"a", "b", "c"} {
		e.create(id)
	}
	got := e.list(a, "")
	slices.Sort(got)
	e.diff("ListInstances", []string{"a", "b", "c"}, got)
}

func testListInstancesByStatus(e *env, a history.Admin) {
	e.terminal("done", 1, history.StatusCompleted)
	e.startTurn("run")
	e.diff("Completed", []string{"done"}, e.list(a, history.StatusCompleted))
	e.diff("Running", []string{"run"}, e.list(a, history.StatusRunning))
	e.diff("Failed", []string{}, e.list(a, history.StatusFailed))
}

func testListExecutions(e *env, a history.Admin) {
	e.create("a")
	e.diff("ListExecutions", []uint64{1}, e.executions(a, "a"))
	e.diff("ListExecutions(ghost)", []uint64{}, e.executions(a, "ghost"))
}

func testGetInstanceInfo(e *env, _ history.Admin) {
	m := startMsg("a")
	m.Name, m.Version = "InfoOrch", "2.0.0"
	if err := e.s.CreateInstance(e.ctx, m); err != nil {
		e.t.Fatal(err)
	}
	st := e.state("a")
	if st.Instance != "a" || st.Name != "InfoOrch" || st.Version != "2.0.0" || st.ExecutionID != 1 {
		e.t.Errorf("InstanceState = %+v", st)
	}
}

func testGetExecutionInfo(e *env, a history.Admin) {
	before := time.Now().UnixMilli()
	e.terminal("a", 1, history.StatusCompleted)
	info, err := a.ExecutionInfo(e.ctx, "a", 1)
	if err != nil {
		e.t.Fatal(err)
	}
	if info.ExecutionID != 1 || info.Status != history.StatusCompleted || string(info.Output) != `"result"` ||
		info.EventCount != 2 || info.CompletedAtMs < before-1000 || info.StartedAtMs == 0 {
		e.t.Errorf("ExecutionInfo = %+v", info)
	}
	_, err = a.ExecutionInfo(e.ctx, "a", 2)
	e.wantErr("ExecutionInfo(a, 2)", err, history.ErrNotFound)
	_, err = a.ExecutionInfo(e.ctx, "ghost", 1)
	e.wantErr("ExecutionInfo(ghost, 1)", err, history.ErrNotFound)
}

func testGetSystemMetrics(e *env, a history.Admin) {
	m0, err := a.SystemMetrics(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.startTurn("a")
	m, err := a.SystemMetrics(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if m.TotalInstances != m0.TotalInstances+1 || m.TotalEvents <= m0.TotalEvents || m.RunningInstances != m0.RunningInstances+1 || m.TotalExecutions != m0.TotalExecutions+1 {
		e.t.Errorf("SystemMetrics %+v then %+v", m0, m)
	}
}

func testGetQueueDepths(e *env, a history.Admin) {
	d0, err := a.QueueDepths(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	e.startTurn("a")
	e.poke("a")
	d, err := a.QueueDepths(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if d.OrchestratorQueue != d0.OrchestratorQueue+1 {
		e.t.Errorf("QueueDepths %+v then %+v", d0, d)
	}
}

// deletion

func testDeleteTerminalInstances(e *env, a history.Admin) {
	e.terminal("ok", 1, history.StatusCompleted)
	e.terminal("bad", 1, history.StatusFailed)
	e.terminal("cancelled", 1, history.StatusFailed)
	for _, id := range []string{"ok", "bad", "cancelled"} {
		r := e.del(a, []string{id}, false)
		if r.InstancesDeleted != 1 || r.ExecutionsDeleted != 1 || r.EventsDeleted < 1 {
			e.t.Errorf("DeleteInstances(%s) = %+v", id, r)
		}
		e.wantNotFound(id)
	}
}

func testDeleteRunningRejectedForceSucceeds(e *env, a history.Admin) {
	e.startTurn("a")
	_, err := a.DeleteInstances(e.ctx, []string{"a"}, false)
	e.wantErr("DeleteInstances(running)", err, history.ErrStillRunning)
	e.state("a")
	if r := e.del(a, []string{"a"}, true); r.InstancesDeleted != 1 {
		e.t.Errorf("forced DeleteInstances = %+v", r)
	}
	e.wantNotFound("a")
}

func testDeleteNonexistentInstance(e *env, a history.Admin) {
	// The store ignores unknown ids; the client's DeleteInstance reports ErrNotFound.
	if r := e.del(a, []string{"ghost"}, false); r != (history.DeleteResult{}) {
		e.t.Errorf("DeleteInstances(ghost) = %+v", r)
	}
	if r := e.del(a, nil, false); r != (history.DeleteResult{}) {
		e.t.Errorf("DeleteInstances(nil) = %+v", r)
	}
}

func testDeleteCleansQueuesAndLocks(e *env, a history.Admin) {
	e.create("a")
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "Act")}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{work("a", 1, 2, "Act")}})
	e.poke("a")
	e.poke("a")
	e.fetch("a") // locked
	e.poke("a")
	r := e.del(a, []string{"a"}, true)
	if r.QueueMessagesDeleted != 4 || r.InstancesDeleted != 1 {
		e.t.Errorf("DeleteInstances = %+v, want 4 queue messages (3 orchestrator, 1 activity)", r)
	}
	d, err := a.QueueDepths(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if d != (history.QueueDepths{}) {
		e.t.Errorf("QueueDepths after delete = %+v", d)
	}
	e.noActivity()
	m := startMsg("a")
	m.Name = "Fresh"
	if err := e.s.CreateInstance(e.ctx, m); err != nil {
		e.t.Fatalf("recreate: %v", err)
	}
	if st := e.state("a"); st.Name != "Fresh" {
		e.t.Errorf("recreated instance name %q", st.Name)
	}
	l := e.fetch("a") // the lock was removed with the instance
	e.diff("recreated batch", []history.Message{m}, l.Messages)
}

func testCascadeDeleteHierarchy(e *env, a history.Admin) {
	e.startTurn("root")
	e.withChild("root", "child")
	e.withChild("child", "grand")
	e.withChild("grand", "great")
	for _, ids := range [][]string{{"root"}, {"child"}, {"root", "child", "grand"}} {
		_, err := a.DeleteInstances(e.ctx, ids, true)
		e.wantErr("DeleteInstances of part of a tree", err, history.ErrHasChildren)
	}
	e.state("great")
	r := e.del(a, []string{"root", "child", "grand", "great"}, true)
	if r.InstancesDeleted != 4 || r.ExecutionsDeleted != 4 || r.EventsDeleted < 4 {
		e.t.Errorf("DeleteInstances(tree) = %+v", r)
	}
	for _, id := range []string{"root", "child", "grand", "great"} {
		e.wantNotFound(id)
	}
}

func testForceDeletePreventsAckRecreation(e *env, a history.Admin) {
	e.create("a")
	l := e.fetch("a")
	e.del(a, []string{"a"}, true)
	_, err := e.s.CommitOrchestration(e.ctx, l.LockToken, history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1)},
		Status: history.StatusRunning, Activities: []history.ActivityWork{work("a", 1, 2, "Act")}})
	e.wantErr("commit after force delete", err, history.ErrLockLost)
	e.wantNotFound("a")
	e.noActivity()
	e.noFetch()
}

func testListChildren(e *env, a history.Admin) {
	e.startTurn("root")
	e.withChild("root", "c1")
	e.withChild("root", "c2")
	e.withChild("c1", "g")
	for id, want := range map[string][]string{"root": {"c1", "c2"}, "c1": {"g"}, "g": {}, "ghost": {}} {
		got, err := a.Children(e.ctx, id)
		if err != nil {
			e.t.Fatal(err)
		}
		slices.Sort(got)
		e.diff("Children("+id+")", want, got)
	}
}

func testDeleteGetParentID(e *env, _ history.Admin) {
	e.startTurn("root")
	e.withChild("root", "child")
	if p := e.state("root").ParentInstance; p != "" {
		e.t.Errorf("root's parent %q", p)
	}
	if p := e.state("child").ParentInstance; p != "root" {
		e.t.Errorf("child's parent %q", p)
	}
	e.wantNotFound("ghost")
}

func testDeleteInstancesAtomic(e *env, a history.Admin) {
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		e.terminal(id, 1, history.StatusCompleted)
	}
	r := e.del(a, ids, false)
	if r.InstancesDeleted != 3 || r.ExecutionsDeleted != 3 || r.EventsDeleted != 6 {
		e.t.Errorf("DeleteInstances = %+v", r)
	}
	e.diff("ListInstances", []string{}, e.list(a, ""))
}

func testDeleteInstancesAtomicForce(e *env, a history.Admin) {
	e.terminal("a", 1, history.StatusCompleted)
	e.startTurn("b")
	_, err := a.DeleteInstances(e.ctx, []string{"a", "b"}, false)
	e.wantErr("DeleteInstances with a running one", err, history.ErrStillRunning)
	e.state("a")
	e.state("b")
	if r := e.del(a, []string{"a", "b"}, true); r.InstancesDeleted != 2 {
		e.t.Errorf("forced DeleteInstances = %+v", r)
	}
	e.wantNotFound("a")
	e.wantNotFound("b")
}

func testDeleteInstancesAtomicOrphanDetection(e *env, a history.Admin) {
	e.startTurn("p")
	e.withChild("p", "c")
	e.finish("c", 1, 2, history.StatusCompleted)
	e.finish("p", 1, 2, history.StatusCompleted)
	_, err := a.DeleteInstances(e.ctx, []string{"p"}, false)
	e.wantErr("DeleteInstances(parent only)", err, history.ErrHasChildren)
	e.state("p")
	e.state("c")
	if r := e.del(a, []string{"p", "c"}, false); r.InstancesDeleted != 2 {
		e.t.Errorf("DeleteInstances(p, c) = %+v", r)
	}
}

func testStaleActivityAfterDeleteRecreate(e *env, a history.Admin) {
	e.create("a")
	e.turn("a", history.Commit{ExecutionID: 1, Delta: []history.Event{startedEv(1), activityEv(2, "Act")}, Status: history.StatusRunning,
		Activities: []history.ActivityWork{work("a", 1, 2, "Act")}})
	old := e.fetchActivity(2)
	e.del(a, []string{"a"}, true)
	start := e.create("a")
	err := e.s.CompleteActivity(e.ctx, old.LockToken, completed("a", 1, 2, `"stale"`))
	e.wantErr("stale CompleteActivity", err, history.ErrLockLost)
	l := e.fetch("a")
	e.diff("recreated batch", []history.Message{start}, l.Messages)
}

// bulk_deletion

func testDeleteInstanceBulkFilterCombinations(e *env, a history.Admin) {
	for _, id := range []string{"a", "b", "c", "d"} {
		e.terminal(id, 1, history.StatusCompleted)
	}
	if r := e.bulk(a, history.InstanceFilter{InstanceIDs: []string{"a", "b"}}); r.InstancesDeleted != 2 {
		e.t.Errorf("by ids = %+v", r)
	}
	if r := e.bulk(a, history.InstanceFilter{InstanceIDs: []string{"ghost"}}); r.InstancesDeleted != 0 {
		e.t.Errorf("unknown ids = %+v", r)
	}
	if r := e.bulk(a, history.InstanceFilter{InstanceIDs: []string{}}); r.InstancesDeleted != 0 {
		e.t.Errorf("empty id list = %+v", r)
	}
	if r := e.bulk(a, history.InstanceFilter{}); r.InstancesDeleted != 2 {
		e.t.Errorf("empty filter = %+v", r)
	}
	e.diff("left", []string{}, e.list(a, ""))
}

func testDeleteInstanceBulkSafetyAndLimits(e *env, a history.Admin) {
	e.startTurn("running")
	for _, id := range []string{"a", "b", "c", "d"} {
		e.terminal(id, 1, history.StatusCompleted)
	}
	for i, want := range []int{2, 2, 0} {
		if r := e.bulk(a, history.InstanceFilter{Limit: 2}); r.InstancesDeleted != want {
			e.t.Errorf("batch %d = %+v, want %d deleted", i, r, want)
		}
	}
	e.diff("left", []string{"running"}, e.list(a, ""))
}

func testDeleteInstanceBulkCompletedBeforeFilter(e *env, a history.Admin) {
	before := time.Now().UnixMilli() - 1
	for _, id := range []string{"a", "b"} {
		e.terminal(id, 1, history.StatusCompleted)
	}
	if r := e.bulk(a, history.InstanceFilter{CompletedBeforeMs: before}); r.InstancesDeleted != 0 {
		e.t.Errorf("cutoff before = %+v", r)
	}
	if r := e.bulk(a, history.InstanceFilter{CompletedBeforeMs: time.Now().UnixMilli() + 1000}); r.InstancesDeleted != 2 {
		e.t.Errorf("cutoff after = %+v", r)
	}
}

func testDeleteInstanceBulkCascadesToChildren(e *env, a history.Admin) {
	for _, root := range []string{"r1", "r2", "r3"} {
		e.startTurn(root)
		e.withChild(root, root+"-c")
	}
	e.withChild("r3-c", "r3-g")
	for _, root := range []string{"r1", "r2", "r3"} {
		e.finish(root, 1, 2, history.StatusCompleted)
	}
	e.startTurn("other")
	r := e.bulk(a, history.InstanceFilter{InstanceIDs: []string{"r1", "r2", "r3", "r1-c"}})
	if r.InstancesDeleted != 7 || r.ExecutionsDeleted != 7 {
		e.t.Errorf("DeleteInstancesBulk = %+v, want 7 instances", r)
	}
	e.diff("left", []string{"other"}, e.list(a, ""))
}

// prune

func testPruneOptionsCombinations(e *env, a history.Admin) {
	e.terminal("a", 4, history.StatusCompleted)
	r := e.prune(a, "a", history.PruneOptions{KeepLast: 2})
	if r.InstancesProcessed != 1 || r.ExecutionsDeleted != 2 || r.EventsDeleted != 4 {
		e.t.Errorf("keep 2 = %+v", r)
	}
	e.diff("after keep 2", []uint64{3, 4}, e.executions(a, "a"))
	if r := e.prune(a, "a", history.PruneOptions{}); r.ExecutionsDeleted != 1 {
		e.t.Errorf("empty options = %+v", r)
	}
	e.diff("after empty options", []uint64{4}, e.executions(a, "a"))
	if h := e.history("a", 4); len(h) != 2 {
		e.t.Errorf("current history %v", h)
	}
	e.terminal("b", 3, history.StatusCompleted)
	if r := e.prune(a, "b", history.PruneOptions{CompletedBeforeMs: 1}); r.ExecutionsDeleted != 0 {
		e.t.Errorf("completed before 1 = %+v", r)
	}
	if r := e.prune(a, "b", history.PruneOptions{CompletedBeforeMs: time.Now().UnixMilli() + 1000}); r.ExecutionsDeleted != 2 {
		e.t.Errorf("completed before now = %+v", r)
	}
}

func testPruneSafety(e *env, a history.Admin) {
	e.startTurn("single")
	if r := e.prune(a, "single", history.PruneOptions{KeepLast: 0}); r.ExecutionsDeleted != 0 {
		e.t.Errorf("single execution = %+v", r)
	}
	e.diff("single", []uint64{1}, e.executions(a, "single"))
	_, err := a.PruneExecutions(e.ctx, "ghost", history.PruneOptions{})
	e.wantErr("PruneExecutions(ghost)", err, history.ErrNotFound)
	for i, keep := range []int{0, 0, 1} {
		id := string(rune('a' + i))
		e.terminal(id, 4, history.StatusCompleted)
		if r := e.prune(a, id, history.PruneOptions{KeepLast: keep}); r.ExecutionsDeleted != 3 {
			e.t.Errorf("keep %d = %+v, want 3 deleted", keep, r)
		}
		e.diff("left", []uint64{4}, e.executions(a, id))
		if st := e.state(id); st.Status != history.StatusCompleted || st.ExecutionID != 4 {
			e.t.Errorf("state after prune %+v", st)
		}
	}
}

func testPruneBulk(e *env, a history.Admin) {
	for _, id := range []string{"a", "b", "c"} {
		e.terminal(id, 3, history.StatusCompleted)
	}
	r, err := a.PruneExecutionsBulk(e.ctx, history.InstanceFilter{InstanceIDs: []string{"a", "b"}}, history.PruneOptions{KeepLast: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	if r.InstancesProcessed != 2 || r.ExecutionsDeleted != 4 {
		e.t.Errorf("PruneExecutionsBulk = %+v", r)
	}
	e.diff("a", []uint64{3}, e.executions(a, "a"))
	e.diff("b", []uint64{3}, e.executions(a, "b"))
	e.diff("c", []uint64{1, 2, 3}, e.executions(a, "c"))
}

func testPruneBulkIncludesRunningInstances(e *env, a history.Admin) {
	e.startTurn("a")
	e.continueAsNew("a", 1, 2)
	e.continueAsNew("a", 2, 2)
	r, err := a.PruneExecutionsBulk(e.ctx, history.InstanceFilter{}, history.PruneOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if r.InstancesProcessed != 1 || r.ExecutionsDeleted != 2 {
		e.t.Errorf("PruneExecutionsBulk = %+v", r)
	}
	e.diff("executions", []uint64{3}, e.executions(a, "a"))
	if st := e.state("a"); st.Status != history.StatusRunning {
		e.t.Errorf("status %s after prune", st.Status)
	}
}

// kv_store

func testKvPrunePreservesAllKeys(e *env, a history.Admin) {
	e.startTurn("a", kvSet(2, "k1", "v1"), kvSet(3, "k2", "v2"))
	e.continueAsNew("a", 1, 4)
	e.prune(a, "a", history.PruneOptions{})
	e.diff("KV after prune", map[string]string{"k1": "v1", "k2": "v2"}, e.allKV("a"))
}

func testKvPruneCurrentExecutionProtected(e *env, a history.Admin) {
	e.startTurn("a", kvSet(2, "k", "v"))
	if r := e.prune(a, "a", history.PruneOptions{KeepLast: 1}); r.ExecutionsDeleted != 0 {
		e.t.Errorf("prune = %+v", r)
	}
	e.wantKV("a", "k", strp("v"))
}

func testKvDeleteInstanceCascades(e *env, a history.Admin) {
	e.startTurn("a", kvSet(2, "delta", "1"))
	e.continueAsNew("a", 1, 3, kvSet(2, "current", "2"))
	e.del(a, []string{"a"}, true)
	e.diff("KV after delete", map[string]string{}, e.allKV("a"))
	st, err := a.InstanceStats(e.ctx, "a")
	e.wantErr("InstanceStats after delete", err, history.ErrNotFound)
	_ = st
	e.create("a")
	e.diff("KV of the recreated instance", map[string]string{}, e.allKV("a"))
}

func testKvDeleteInstanceWithChildren(e *env, a history.Admin) {
	e.startTurn("p", kvSet(2, "pk", "1"))
	e.withChild("p", "c")
	e.pokeTurn("c", 1, kvSet(2, "ck", "2"))
	e.wantKV("c", "ck", strp("2"))
	e.del(a, []string{"p", "c"}, true)
	e.diff("parent KV", map[string]string{}, e.allKV("p"))
	e.diff("child KV", map[string]string{}, e.allKV("c"))
}
