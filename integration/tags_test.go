package integration_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// Ports of the Python SDK's tests/test_tags.py (python-sdk.md §3.8): activity tags
// (Task.WithTag), worker tag filters and ActivityContext.Tag. Python's f"tag={ctx.tag()}"
// prints "tag=None" for an untagged activity; the Go port formats the same nil with %v,
// which prints "tag=<nil>" (cTagOrNil).

// test_tags.py::test_tagged_activity_runs_on_matching_worker
func TestTags_TaggedActivityRunsOnMatchingWorker(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        cFilter(t)(duroxide.TagsOnly("gpu")),
		})
		activity(t, rt, "GpuWork", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			tag := cTagOrNil(ctx)
			return map[string]any{"result": in, "tag": tag}, nil
		})
		orchestration(t, rt, "TaggedOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("GpuWork", "compute").WithTag("gpu"))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("tagged")
		s.startOrch(id, "TaggedOrch", "")
		out := mustComplete[map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "output result", out["result"], any("compute"))
		equal(t, "output tag", out["tag"], any("gpu"))
	})
}

// test_tags.py::test_default_only_ignores_tagged_activity
func TestTags_DefaultOnlyIgnoresTaggedActivity(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		// The default filter (zero TagFilter) takes untagged activities only.
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "TaggedWork", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "done", nil
		})
		orchestration(t, rt, "DefaultOnlyOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			// Race tagged activity vs timer: the timer must win.
			act := ctx.ScheduleActivity("TaggedWork", "data").WithTag("gpu")
			timer := ctx.ScheduleTimer(500 * time.Millisecond)
			result, err := ctx.Yield(ctx.Race(act, timer))
			if err != nil {
				return nil, err
			}
			if cRaceIndex(result) == 1 {
				return "timeout:no_gpu_worker", nil
			}
			return "completed:" + result.Field("value").String(), nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("default-only")
		s.startOrch(id, "DefaultOnlyOrch", "")
		equal(t, "output", mustComplete[string](t, s.wait(id, 10*time.Second)), "timeout:no_gpu_worker")
	})
}

// test_tags.py::test_default_and_filter_processes_both
func TestTags_DefaultAndFilterProcessesBoth(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        cFilter(t)(duroxide.DefaultAndTags("gpu")),
		})
		activity(t, rt, "Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return fmt.Sprintf("done:%s:tag=%v", in.String(), cTagOrNil(ctx)), nil
		})
		orchestration(t, rt, "DefaultAndOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			// One tagged, one untagged.
			tagged := ctx.ScheduleActivity("Work", "tagged").WithTag("gpu")
			untagged := ctx.ScheduleActivity("Work", "untagged")
			return ctx.Yield(ctx.All(tagged, untagged))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("default-and")
		s.startOrch(id, "DefaultAndOrch", "")
		// Results come as a list of {"ok": value}.
		out := mustComplete[[]map[string]any](t, s.wait(id, 10*time.Second))
		var values []any
		for _, r := range out {
			values = append(values, r["ok"])
		}
		if !slices.Contains(values, any("done:tagged:tag=gpu")) {
			t.Fatalf("values %v lack %q", values, "done:tagged:tag=gpu")
		}
		if !slices.Contains(values, any("done:untagged:tag=<nil>")) {
			t.Fatalf("values %v lack %q", values, "done:untagged:tag=<nil>")
		}
	})
}

// test_tags.py::test_any_filter_processes_all
func TestTags_AnyFilterProcessesAll(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        duroxide.AnyTag(),
		})
		activity(t, rt, "AnyWork", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return fmt.Sprintf("tag=%v", cTagOrNil(ctx)), nil
		})
		orchestration(t, rt, "AnyOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			r1, err := ctx.Yield(ctx.ScheduleActivity("AnyWork", "a").WithTag("special"))
			if err != nil {
				return nil, err
			}
			r2, err := ctx.Yield(ctx.ScheduleActivity("AnyWork", "b"))
			if err != nil {
				return nil, err
			}
			return []yield.Value{r1, r2}, nil
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("any-filter")
		s.startOrch(id, "AnyOrch", "")
		out := mustComplete[[]string](t, s.wait(id, 10*time.Second))
		if len(out) != 2 {
			t.Fatalf("output %q, want 2 items", out)
		}
		equal(t, "output[0]", out[0], "tag=special")
		equal(t, "output[1]", out[1], "tag=<nil>")
	})
}

// test_tags.py::test_tag_filter_class
func TestTags_TagFilterClass(t *testing.T) {
	// Python's TagFilter string constants are Go constructors; String names the mode the
	// way the Python constants spell it.
	equal(t, "DEFAULT_ONLY", duroxide.TagFilter{}.String(), "default_only")
	equal(t, "ANY", duroxide.AnyTag().String(), "any")
	equal(t, "NONE", duroxide.NoTags().String(), "none")

	tagsVal := cFilter(t)(duroxide.TagsOnly("gpu", "cpu"))
	equal(t, "tags mode", tagsVal.Mode(), history.TagOnly)
	got := tagsVal.Tags()
	slices.Sort(got)
	equal(t, "tags set", got, []string{"cpu", "gpu"})

	daVal := cFilter(t)(duroxide.DefaultAndTags("gpu"))
	equal(t, "default_and mode", daVal.Mode(), history.TagDefaultAnd)
	equal(t, "default_and tags", daVal.Tags(), []string{"gpu"})
}

// test_tags.py::test_with_tag_returns_scheduled_task
func TestTags_WithTagReturnsScheduledTask(t *testing.T) {
	// Python builds a bare OrchestrationContext and inspects the ScheduledTask dict. A Go
	// Ctx exists only inside an execution, so this drives one turn of the pure engine
	// (no store) and reads the tags off the activities the turn schedules. A Go Task is a
	// value: WithTag returns a tagged copy and leaves the task it was called on untagged
	// (Python mutates the dict in place and returns it).
	var kind, taggedKind string
	orch := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		task := ctx.ScheduleActivity("Work", "data")
		kind = task.Kind()
		tagged := task.WithTag("gpu")
		taggedKind = tagged.Kind()
		return ctx.Yield(ctx.All(task, tagged))
	}
	ex := yield.NewExecution(orch, yield.Options{InstanceID: "test"})
	defer ex.Close()
	res := ex.Turn(yield.TurnInput{
		Messages: []history.Message{{Kind: history.MsgStartOrchestration, Instance: "test", Name: "Test", Version: "1.0.0", Input: []byte("null"), ExecutionID: 1}},
		NowMs:    1_700_000_000_000,
	})
	if res.Error != nil {
		t.Fatalf("turn failed: %+v", res.Error)
	}
	equal(t, "task kind", kind, "activity")
	equal(t, "tagged task kind", taggedKind, "activity")
	if len(res.Activities) != 2 {
		t.Fatalf("turn scheduled %d activities, want 2", len(res.Activities))
	}
	equal(t, "untagged task's tag", res.Activities[0].Tag, "")
	equal(t, "tagged task's tag", res.Activities[1].Tag, "gpu")
	equal(t, "tagged task's name", res.Activities[1].Name, "Work")
}

// test_tags.py::test_untagged_activity_returns_none_tag
func TestTags_UntaggedActivityReturnsNoneTag(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "Plain", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"tag": cTagOrNil(ctx)}, nil
		})
		orchestration(t, rt, "NoTagOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Plain", in))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("untagged-none")
		s.startOrch(id, "NoTagOrch", "x")
		out := mustComplete[map[string]any](t, s.wait(id, 10*time.Second))
		tag, found := out["tag"]
		if !found || tag != nil {
			t.Fatalf("output tag = %v (present %v), want null", tag, found)
		}
	})
}

// test_tags.py::test_heterogeneous_workers_gpu_cpu_untagged
func TestTags_HeterogeneousWorkersGpuCpuUntagged(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        cFilter(t)(duroxide.DefaultAndTags("gpu", "cpu")),
		})
		activity(t, rt, "Render", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "rendered:" + in.String(), nil
		})
		activity(t, rt, "Encode", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "encoded:" + in.String(), nil
		})
		activity(t, rt, "Upload", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "uploaded:" + in.String(), nil
		})
		orchestration(t, rt, "VideoPipeline", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			rendered, err := ctx.Yield(ctx.ScheduleActivity("Render", "frame42").WithTag("gpu"))
			if err != nil {
				return nil, err
			}
			encoded, err := ctx.Yield(ctx.ScheduleActivity("Encode", rendered).WithTag("cpu"))
			if err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleActivity("Upload", encoded))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch("video-1", "VideoPipeline", "")
		equal(t, "output", mustComplete[string](t, s.wait("video-1", 10*time.Second)), "uploaded:encoded:rendered:frame42")
	})
}

// test_tags.py::test_starvation_safe_tagged_activity_timeout_fallback
func TestTags_StarvationSafeTaggedActivityTimeoutFallback(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        duroxide.TagFilter{}, // TagFilter.DEFAULT_ONLY
		})
		activity(t, rt, "GpuInference", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "inference:" + in.String(), nil
		})
		activity(t, rt, "CpuFallback", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "cpu_fallback:" + in.String(), nil
		})
		orchestration(t, rt, "InferenceWithFallback", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			gpuTask := ctx.ScheduleActivity("GpuInference", in).WithTag("gpu")
			timeout := ctx.ScheduleTimer(500 * time.Millisecond)
			winner, err := ctx.Yield(ctx.Race(gpuTask, timeout))
			if err != nil {
				return nil, err
			}
			if cRaceIndex(winner) == 0 {
				return winner.Field("value"), nil
			}
			return ctx.Yield(ctx.ScheduleActivity("CpuFallback", in))
		})
		s.start(rt)
		defer s.shutdown(rt)
		s.startOrch("infer-1", "InferenceWithFallback", "model-v3")
		equal(t, "output", mustComplete[string](t, s.wait("infer-1", 10*time.Second)), "cpu_fallback:model-v3")
	})
}

// test_tags.py::test_dual_runtime_orchestrator_plus_gpu_worker
func TestTags_DualRuntimeOrchestratorPlusGpuWorker(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		register := func(rt *duroxide.Runtime) {
			activity(t, rt, "PreProcess", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "preprocessed:" + in.String(), nil
			})
			activity(t, rt, "GpuTrain", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "trained:" + in.String(), nil
			})
			activity(t, rt, "SaveModel", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return "saved:" + in.String(), nil
			})
			orchestration(t, rt, "MLPipeline", func(ctx *yield.Ctx, in yield.Value) (any, error) {
				preprocessed, err := ctx.Yield(ctx.ScheduleActivity("PreProcess", in))
				if err != nil {
					return nil, err
				}
				model, err := ctx.Yield(ctx.ScheduleActivity("GpuTrain", preprocessed).WithTag("gpu"))
				if err != nil {
					return nil, err
				}
				return ctx.Yield(ctx.ScheduleActivity("SaveModel", model))
			})
		}
		// Runtime A: orchestrator + default (CPU) worker.
		rtA := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        duroxide.TagFilter{},
		})
		register(rtA)
		// Runtime B: GPU worker only. Python's orchestration_concurrency=0 is a negative
		// OrchestrationConcurrency in Go, where 0 means the default.
		rtB := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval:   50 * time.Millisecond,
			OrchestrationConcurrency: -1,
			WorkerTagFilter:          cFilter(t)(duroxide.TagsOnly("gpu")),
		})
		register(rtB)
		s.start(rtA)
		s.start(rtB)
		defer s.shutdown(rtA)
		defer s.shutdown(rtB)
		s.startOrch("ml-1", "MLPipeline", "dataset-v5")
		equal(t, "output", mustComplete[string](t, s.wait("ml-1", 10*time.Second)), "saved:trained:preprocessed:dataset-v5")
	})
}

// test_tags.py::test_nested_error_handling_propagation
func TestTags_NestedErrorHandlingPropagation(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "ProcessData", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			if strings.Contains(in.String(), "error") {
				return nil, errors.New("Processing failed")
			}
			return "Processed: " + in.String(), nil
		})
		activity(t, rt, "FormatOutput", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "Final: " + in.String(), nil
		})
		orchestration(t, rt, "NestedErrorHandling", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			processed, err := ctx.Yield(ctx.ScheduleActivity("ProcessData", in))
			if err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleActivity("FormatOutput", processed))
		})
		s.start(rt)
		defer s.shutdown(rt)

		// Success case.
		s.startOrch("nested-ok", "NestedErrorHandling", "test")
		equal(t, "ok output", mustComplete[string](t, s.wait("nested-ok", 5*time.Second)), "Final: Processed: test")

		// Error case.
		s.startOrch("nested-err", "NestedErrorHandling", "error")
		contains(t, "error", mustFail(t, s.wait("nested-err", 5*time.Second)), "Processing failed")
	})
}

// test_tags.py::test_error_recovery_with_logging
func TestTags_ErrorRecoveryWithLogging(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "ProcessData", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			if strings.Contains(in.String(), "error") {
				return nil, errors.New("Processing failed")
			}
			return "Processed: " + in.String(), nil
		})
		activity(t, rt, "LogError", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "Logged: " + in.String(), nil
		})
		orchestration(t, rt, "ErrorRecovery", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			result, err := ctx.Yield(ctx.ScheduleActivity("ProcessData", in))
			if err == nil {
				return result, nil
			}
			if _, lerr := ctx.Yield(ctx.ScheduleActivity("LogError", err.Error())); lerr != nil {
				return nil, lerr
			}
			return nil, fmt.Errorf("Failed to process '%s': %w", in.String(), err)
		})
		s.start(rt)
		defer s.shutdown(rt)

		// Success case.
		s.startOrch("recovery-ok", "ErrorRecovery", "test")
		equal(t, "ok output", mustComplete[string](t, s.wait("recovery-ok", 5*time.Second)), "Processed: test")

		// Error recovery case.
		s.startOrch("recovery-err", "ErrorRecovery", "error")
		contains(t, "error", mustFail(t, s.wait("recovery-err", 5*time.Second)), "Failed to process 'error'")
	})
}

// test_tags.py::test_pg_tagged_activity
func TestTags_PgTaggedActivity(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{
			DispatcherPollInterval: 50 * time.Millisecond,
			WorkerTagFilter:        cFilter(t)(duroxide.TagsOnly("gpu")),
		})
		activity(t, rt, "PgGpuWork", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"input": in, "tag": cTagOrNil(ctx)}, nil
		})
		orchestration(t, rt, "PgTaggedOrch", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("PgGpuWork", in).WithTag("gpu"))
		})
		s.start(rt)
		defer s.shutdown(rt)
		id := uid("pg-tagged")
		s.startOrch(id, "PgTaggedOrch", "pg-compute")
		out := mustComplete[map[string]any](t, s.wait(id, 10*time.Second))
		equal(t, "output input", out["input"], any("pg-compute"))
		equal(t, "output tag", out["tag"], any("gpu"))
	})
}
