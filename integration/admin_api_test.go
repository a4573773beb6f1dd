package integration_test

// Ports of tests/test_admin_api.py of the Python SDK (python-sdk.md §3.3).

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// adminTimeout is the Python file's wait (run_to_completion's timeout_ms=15_000).
const adminTimeout = 15 * time.Second

// adminEcho is the Python lambda ctx, inp: inp.
func adminEcho(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil }

// adminCounter decodes the Python `input.get("n", 0) if isinstance(input, dict) else 0`.
func adminCounter(in yield.Value) int {
	var v struct {
		N int `json:"n"`
	}
	if err := in.Decode(&v); err != nil {
		return 0
	}
	return v.N
}

// runToCompletion is the Python run_to_completion: a runtime set up by setup runs
// orchestration name as instance uid(name) until it finishes (15 s).
func (s *scenario) runToCompletion(name string, input any, setup func(rt *duroxide.Runtime)) (duroxide.OrchestrationResult, string) {
	s.t.Helper()
	rt := s.runtime(duroxide.RuntimeOptions{})
	setup(rt)
	id := uid(name)
	return s.bRun(rt, id, name, input, adminTimeout), id
}

// test_admin_api.py::test_list_all_instances
func TestAdminAPI_ListAllInstances(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "echo", adminEcho)
		orchestration(t, rt, "ListTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("echo", in))
		})
		s.start(rt)
		defer s.shutdown(rt)

		id1, id2 := uid("list-1"), uid("list-2")
		s.startOrch(id1, "ListTest", map[string]int{"a": 1})
		s.startOrch(id2, "ListTest", map[string]int{"a": 2})
		s.wait(id1, 10*time.Second)
		s.wait(id2, 10*time.Second)

		instances, err := s.client.ListAllInstances(s.ctx)
		if err != nil {
			t.Fatalf("ListAllInstances: %v", err)
		}
		if !slices.Contains(instances, id1) || !slices.Contains(instances, id2) {
			t.Fatalf("ListAllInstances = %v, should contain %s and %s", instances, id1, id2)
		}
	})
}

// test_admin_api.py::test_list_instances_by_status
func TestAdminAPI_ListInstancesByStatus(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("StatusFilter", "hello", func(rt *duroxide.Runtime) {
			activity(t, rt, "echo", adminEcho)
			orchestration(t, rt, "StatusFilter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("echo", in))
			})
		})

		completed, err := s.client.ListInstancesByStatus(s.ctx, "Completed")
		if err != nil {
			t.Fatalf("ListInstancesByStatus: %v", err)
		}
		if !slices.Contains(completed, id) {
			t.Fatalf("ListInstancesByStatus(Completed) = %v, should list %s", completed, id)
		}
	})
}

// test_admin_api.py::test_get_instance_info
func TestAdminAPI_GetInstanceInfo(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("InfoTest", map[string]int{"x": 42}, func(rt *duroxide.Runtime) {
			activity(t, rt, "double", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				var v struct {
					X int `json:"x"`
				}
				if err := in.Decode(&v); err != nil {
					return nil, err
				}
				return v.X * 2, nil
			})
			orchestration(t, rt, "InfoTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("double", in))
			})
		})

		info, err := s.client.GetInstanceInfo(s.ctx, id)
		if err != nil {
			t.Fatalf("GetInstanceInfo: %v", err)
		}
		equal(t, "instance id", info.InstanceID, id)
		equal(t, "orchestration name", info.OrchestrationName, "InfoTest")
		equal(t, "status", info.Status, "Completed")
		if info.CurrentExecutionID < 1 || info.CreatedAtMs <= 0 || info.UpdatedAtMs <= 0 {
			t.Fatalf("info = %+v, want current execution >= 1 and positive timestamps", info)
		}
	})
}

// test_admin_api.py::test_get_orchestration_stats
func TestAdminAPI_GetOrchestrationStats(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("StatsTest", map[string]int{"value": 42}, func(rt *duroxide.Runtime) {
			activity(t, rt, "echo", adminEcho)
			orchestration(t, rt, "StatsTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				ctx.SetKVValue("status", "running")
				result, err := ctx.Yield(ctx.ScheduleActivity("echo", in))
				if err != nil {
					return nil, err
				}
				b, err := json.Marshal(result)
				if err != nil {
					return nil, err
				}
				ctx.SetKVValue("result", string(b))
				return result, nil
			})
		})

		stats, err := s.client.GetOrchestrationStats(s.ctx, id)
		if err != nil {
			t.Fatalf("GetOrchestrationStats: %v", err)
		}
		if stats.HistoryEventCount <= 0 || stats.HistorySizeBytes <= 0 {
			t.Fatalf("stats = %+v, want history events and bytes", stats)
		}
		equal(t, "kv user key count", stats.KVUserKeyCount, 2)
		// Go's encoding/json writes {"value":42}, without the space of Python's json.dumps.
		if want := int64(len("running") + len(`{"value":42}`)); stats.KVTotalValueBytes < want {
			t.Fatalf("kv total value bytes = %d, want >= %d", stats.KVTotalValueBytes, want)
		}

		if _, err := s.client.GetOrchestrationStats(s.ctx, uid("missing-stats")); !errors.Is(err, duroxide.ErrNotFound) {
			t.Fatalf("GetOrchestrationStats(missing) error = %v, want ErrNotFound", err)
		}
	})
}

// test_admin_api.py::test_get_execution_info
func TestAdminAPI_GetExecutionInfo(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("ExecInfo", "test", func(rt *duroxide.Runtime) {
			activity(t, rt, "echo", adminEcho)
			orchestration(t, rt, "ExecInfo", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("echo", in))
			})
		})

		info, err := s.client.GetExecutionInfo(s.ctx, id, 1)
		if err != nil {
			t.Fatalf("GetExecutionInfo: %v", err)
		}
		equal(t, "execution id", info.ExecutionID, uint64(1))
		equal(t, "status", info.Status, history.StatusCompleted)
		if info.EventCount <= 0 {
			t.Fatalf("event count = %d, should have events", info.EventCount)
		}
		if info.StartedAtMs <= 0 {
			t.Fatalf("started at = %d, want > 0", info.StartedAtMs)
		}
	})
}

// test_admin_api.py::test_list_executions
func TestAdminAPI_ListExecutions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "CANExec", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			n := adminCounter(in)
			if n >= 2 {
				return map[string]any{"done": true, "iterations": n}, nil
			}
			return ctx.Yield(ctx.ContinueAsNew(map[string]int{"n": n + 1}))
		})
		s.start(rt)
		defer s.shutdown(rt)

		id := uid("can-exec")
		s.startOrch(id, "CANExec", map[string]int{"n": 0})
		s.wait(id, adminTimeout)

		executions, err := s.client.ListExecutions(s.ctx, id)
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		if len(executions) < 3 {
			t.Fatalf("should have 3+ executions, got %d", len(executions))
		}
		equal(t, "first execution", executions[0], uint64(1))
	})
}

// test_admin_api.py::test_read_execution_history
func TestAdminAPI_ReadExecutionHistory(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("HistoryTest", "data", func(rt *duroxide.Runtime) {
			activity(t, rt, "echo", adminEcho)
			orchestration(t, rt, "HistoryTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("echo", in))
			})
		})

		events, err := s.client.ReadExecutionHistory(s.ctx, id, 1)
		if err != nil {
			t.Fatalf("ReadExecutionHistory: %v", err)
		}
		if len(events) == 0 {
			t.Fatal("should have events")
		}
		first := events[0]
		contains(t, "first event kind", string(first.Kind), "OrchestrationStarted")
		if first.TimestampMs <= 0 {
			t.Fatalf("first event timestamp = %d, want > 0", first.TimestampMs)
		}
	})
}

// test_admin_api.py::test_read_execution_history_data
func TestAdminAPI_ReadExecutionHistoryData(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("HistoryDataTest", map[string]string{"greeting": "hello"}, func(rt *duroxide.Runtime) {
			activity(t, rt, "reverse", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				out := map[string]any{}
				if err := in.Decode(&out); err != nil {
					return nil, err
				}
				out["reversed"] = true
				return out, nil
			})
			orchestration(t, rt, "HistoryDataTest", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("reverse", in))
			})
		})

		events, err := s.client.ReadExecutionHistory(s.ctx, id, 1)
		if err != nil {
			t.Fatalf("ReadExecutionHistory: %v", err)
		}
		first := func(kind history.EventKind) history.Event {
			t.Helper()
			for _, e := range events {
				if e.Kind == kind {
					return e
				}
			}
			t.Fatalf("no %s event in %v", kind, events)
			return history.Event{}
		}

		// OrchestrationStarted has name, version, input.
		started := first(history.OrchestrationStarted)
		equal(t, "started name", started.Name, "HistoryDataTest")
		bJSONEqual(t, "started input", yield.RawValue(started.Input), `{"greeting": "hello"}`)

		// ActivityScheduled has name and input.
		scheduled := first(history.ActivityScheduled)
		equal(t, "scheduled name", scheduled.Name, "reverse")

		// ActivityCompleted has the result.
		completed := first(history.ActivityCompleted)
		var result struct {
			Reversed *bool  `json:"reversed"`
			Greeting string `json:"greeting"`
		}
		if err := json.Unmarshal(completed.Result, &result); err != nil {
			t.Fatalf("ActivityCompleted result %s: %v", completed.Result, err)
		}
		if result.Reversed == nil || !*result.Reversed || result.Greeting != "hello" {
			t.Fatalf("ActivityCompleted result = %s, want reversed true and greeting hello", completed.Result)
		}

		// OrchestrationCompleted has the output.
		orchCompleted := first(history.OrchestrationCompleted)
		var output struct {
			Reversed *bool `json:"reversed"`
		}
		if err := json.Unmarshal(orchCompleted.Output, &output); err != nil {
			t.Fatalf("OrchestrationCompleted output %s: %v", orchCompleted.Output, err)
		}
		if output.Reversed == nil || !*output.Reversed {
			t.Fatalf("OrchestrationCompleted output = %s, want reversed true", orchCompleted.Output)
		}
	})
}

// test_admin_api.py::test_get_instance_tree
func TestAdminAPI_GetInstanceTree(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "echo", adminEcho)
		orchestration(t, rt, "Child", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("echo", in))
		})
		orchestration(t, rt, "Parent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			child, err := ctx.Yield(ctx.ScheduleSubOrchestration("Child", in))
			if err != nil {
				return nil, err
			}
			return map[string]any{"parent": true, "child": child}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		id := uid("tree-parent")
		s.startOrch(id, "Parent", map[string]int{"val": 1})
		mustComplete[any](t, s.wait(id, adminTimeout))

		tree, err := s.client.GetInstanceTree(s.ctx, id)
		if err != nil {
			t.Fatalf("GetInstanceTree: %v", err)
		}
		equal(t, "root id", tree.RootID, id)
		if tree.Size() < 2 {
			t.Fatalf("tree should have >= 2 nodes, got %d (%v)", tree.Size(), tree.AllIDs)
		}
		if !slices.Contains(tree.AllIDs, id) {
			t.Fatalf("tree ids %v should contain %s", tree.AllIDs, id)
		}
	})
}

// test_admin_api.py::test_delete_instance
func TestAdminAPI_DeleteInstance(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		_, id := s.runToCompletion("DeleteMe", "bye", func(rt *duroxide.Runtime) {
			activity(t, rt, "echo", adminEcho)
			orchestration(t, rt, "DeleteMe", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				return ctx.Yield(ctx.ScheduleActivity("echo", in))
			})
		})

		del, err := s.client.DeleteInstance(s.ctx, id, false)
		if err != nil {
			t.Fatalf("DeleteInstance: %v", err)
		}
		if del.InstancesDeleted < 1 || del.EventsDeleted < 1 {
			t.Fatalf("delete result = %+v, want >= 1 instance and events", del)
		}

		status, err := s.client.GetStatus(s.ctx, id)
		if err != nil {
			t.Fatalf("GetStatus: %v", err)
		}
		equal(t, "status", status.Status, duroxide.StatusNotFound)
	})
}

// test_admin_api.py::test_delete_instance_bulk
func TestAdminAPI_DeleteInstanceBulk(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "echo", adminEcho)
		orchestration(t, rt, "BulkDel", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("echo", in))
		})
		s.start(rt)
		ids := []string{uid("bulk-1"), uid("bulk-2")}
		for _, id := range ids {
			s.startOrch(id, "BulkDel", map[string]string{"id": id})
		}
		for _, id := range ids {
			s.wait(id, 10*time.Second)
		}
		s.shutdown(rt)

		res, err := s.client.DeleteInstanceBulk(s.ctx, duroxide.InstanceFilter{InstanceIDs: ids})
		if err != nil {
			t.Fatalf("DeleteInstanceBulk: %v", err)
		}
		if res.InstancesDeleted < 2 {
			t.Fatalf("should delete 2+, got %d", res.InstancesDeleted)
		}

		for _, id := range ids {
			status, err := s.client.GetStatus(s.ctx, id)
			if err != nil {
				t.Fatalf("GetStatus: %v", err)
			}
			equal(t, "status of "+id, status.Status, duroxide.StatusNotFound)
		}
	})
}

// test_admin_api.py::test_prune_executions
func TestAdminAPI_PruneExecutions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "PruneTarget", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			n := adminCounter(in)
			if n >= 3 {
				return map[string]any{"done": true, "iterations": n}, nil
			}
			return ctx.Yield(ctx.ContinueAsNew(map[string]int{"n": n + 1}))
		})
		id := uid("prune")
		s.bRun(rt, id, "PruneTarget", map[string]int{"n": 0}, adminTimeout)

		// Should have 4 executions (0, 1, 2, 3).
		before, err := s.client.ListExecutions(s.ctx, id)
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		if len(before) < 4 {
			t.Fatalf("expected >= 4 executions, got %d", len(before))
		}

		res, err := s.client.PruneExecutions(s.ctx, id, duroxide.PruneOptions{KeepLast: 1})
		if err != nil {
			t.Fatalf("PruneExecutions: %v", err)
		}
		if res.ExecutionsDeleted < 3 {
			t.Fatalf("should prune >= 3, got %d", res.ExecutionsDeleted)
		}

		after, err := s.client.ListExecutions(s.ctx, id)
		if err != nil {
			t.Fatalf("ListExecutions: %v", err)
		}
		if len(after) != 1 {
			t.Fatalf("should have 1 execution left, got %v", after)
		}
	})
}

// test_admin_api.py::test_prune_executions_bulk
func TestAdminAPI_PruneExecutionsBulk(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		orchestration(t, rt, "BulkPrune", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			n := adminCounter(in)
			if n >= 2 {
				return map[string]bool{"done": true}, nil
			}
			return ctx.Yield(ctx.ContinueAsNew(map[string]int{"n": n + 1}))
		})
		s.start(rt)
		ids := []string{uid("bprune-1"), uid("bprune-2")}
		for _, id := range ids {
			s.startOrch(id, "BulkPrune", map[string]int{"n": 0})
		}
		for _, id := range ids {
			s.wait(id, adminTimeout)
		}
		s.shutdown(rt)

		res, err := s.client.PruneExecutionsBulk(s.ctx, duroxide.InstanceFilter{InstanceIDs: ids}, duroxide.PruneOptions{KeepLast: 1})
		if err != nil {
			t.Fatalf("PruneExecutionsBulk: %v", err)
		}
		if res.InstancesProcessed < 2 {
			t.Fatalf("should process >= 2, got %d", res.InstancesProcessed)
		}
		if res.ExecutionsDeleted < 4 {
			t.Fatalf("should prune >= 4, got %d", res.ExecutionsDeleted)
		}
	})
}

// test_admin_api.py::test_versioned_sub_orchestration
func TestAdminAPI_VersionedSubOrchestration(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		res, _ := s.runToCompletion("VersionedSubParent", map[string]int{"val": 10}, func(rt *duroxide.Runtime) {
			activity(t, rt, "double", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
				var n int
				if err := in.Decode(&n); err != nil {
					return nil, err
				}
				return n * 2, nil
			})
			bVersioned(t, rt, "VersionedChild", "2.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				doubled, err := ctx.Yield(ctx.ScheduleActivity("double", in.Field("val")))
				if err != nil {
					return nil, err
				}
				return map[string]any{"version": "2.0.0", "result": doubled}, nil
			})
			orchestration(t, rt, "VersionedSubParent", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				child, err := ctx.Yield(ctx.ScheduleSubOrchestrationVersioned("VersionedChild", "2.0.0", in))
				if err != nil {
					return nil, err
				}
				return map[string]any{"parent": true, "child": child}, nil
			})
		})

		out := mustComplete[struct {
			Child struct {
				Version string `json:"version"`
				Result  int    `json:"result"`
			} `json:"child"`
		}](t, res)
		equal(t, "child version", out.Child.Version, "2.0.0")
		equal(t, "child result", out.Child.Result, 20)
	})
}

// test_admin_api.py::test_versioned_detached_orchestration
func TestAdminAPI_VersionedDetachedOrchestration(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		activity(t, rt, "echo", adminEcho)
		bVersioned(t, rt, "DetachedWorker", "3.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			result, err := ctx.Yield(ctx.ScheduleActivity("echo", in))
			if err != nil {
				return nil, err
			}
			return map[string]any{"version": "3.0.0", "echoed": result}, nil
		})
		orchestration(t, rt, "DetachedStarter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			childID := in.Field("child_id").String()
			if _, err := ctx.Yield(ctx.StartOrchestrationVersioned("DetachedWorker", "3.0.0", childID, map[string]string{"msg": "hello"})); err != nil {
				return nil, err
			}
			return map[string]bool{"started": true}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		parentID, childID := uid("detach-starter"), uid("detach-worker")
		s.startOrch(parentID, "DetachedStarter", map[string]string{"child_id": childID})
		s.wait(parentID, adminTimeout)

		// The child completes too.
		out := mustComplete[struct {
			Version string `json:"version"`
			Echoed  struct {
				Msg string `json:"msg"`
			} `json:"echoed"`
		}](t, s.wait(childID, adminTimeout))
		equal(t, "child version", out.Version, "3.0.0")
		equal(t, "echoed msg", out.Echoed.Msg, "hello")
	})
}

// test_admin_api.py::test_continue_as_new_versioned
func TestAdminAPI_ContinueAsNewVersioned(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{})
		// v1 upgrades to v2 through ContinueAsNewVersioned.
		bVersioned(t, rt, "VersionedCAN", "1.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("[v1.0.0] upgrading to v2")
			return ctx.Yield(ctx.ContinueAsNewVersioned(map[string]any{"upgraded": true, "from": "1.0.0"}, "2.0.0"))
		})
		// v2 is the target version.
		bVersioned(t, rt, "VersionedCAN", "2.0.0", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.TraceInfo("[v2.0.0] running upgraded logic")
			return map[string]any{"version": "2.0.0", "input": in}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)

		id := uid("can-versioned")
		if err := s.client.StartOrchestrationVersioned(s.ctx, id, "VersionedCAN", map[string]bool{"start": true}, "1.0.0"); err != nil {
			t.Fatalf("StartOrchestrationVersioned: %v", err)
		}
		out := mustComplete[struct {
			Version string `json:"version"`
			Input   struct {
				Upgraded *bool `json:"upgraded"`
			} `json:"input"`
		}](t, s.wait(id, adminTimeout))
		equal(t, "version", out.Version, "2.0.0")
		if out.Input.Upgraded == nil || !*out.Input.Upgraded {
			t.Fatalf("input.upgraded = %v, want true", out.Input.Upgraded)
		}
	})
}
