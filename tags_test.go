package duroxide_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// Worker tag filters end to end: ports of the intent of the Python SDK's tests/test_tags.py
// (python-sdk.md §3.8). Where Python renders a missing tag as "tag=None", these tests
// render "tag=untagged" (tagLabel): ActivityContext.Tag reports ("", false) there.

// tagLabel renders an activity's tag as "tag=<tag>" or "tag=untagged".
func tagLabel(ctx *duroxide.ActivityContext) string {
	if tag, ok := ctx.Tag(); ok {
		return "tag=" + tag
	}
	return "tag=untagged"
}

func mustFilter(t *testing.T) func(duroxide.TagFilter, error) duroxide.TagFilter {
	return func(f duroxide.TagFilter, err error) duroxide.TagFilter {
		t.Helper()
		if err != nil {
			t.Fatalf("tag filter: %v", err)
		}
		return f
	}
}

// raceIndex is the index of the winner of a Race output {"index": i, "value": v}.
func raceIndex(v yield.Value) (int, error) {
	var i int
	err := v.Field("index").Decode(&i)
	return i, err
}

// test_tagged_activity_runs_on_matching_worker, test_untagged_activity_returns_none_tag:
// a TagsOnly worker runs its tag and reports it; an untagged activity on a default worker
// reports no tag.
func TestE2ETagTaggedActivityRunsOnMatchingWorker(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		gpu := newEnv(duroxide.RuntimeOptions{WorkerTagFilter: mustFilter(t)(duroxide.TagsOnly("gpu"))})
		plain := newEnv(duroxide.RuntimeOptions{OrchestrationConcurrency: -1})
		for _, e := range []*env{gpu, plain} {
			e.activity("Compute", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				return in.String() + ":" + tagLabel(ctx), nil
			})
		}
		gpu.orchestration("Tagged", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			a, err := ctx.Yield(ctx.ScheduleActivity("Compute", "compute").WithTag("gpu"))
			if err != nil {
				return nil, err
			}
			b, err := ctx.Yield(ctx.ScheduleActivity("Compute", "plain"))
			if err != nil {
				return nil, err
			}
			return []string{a.String(), b.String()}, nil
		})
		gpu.start()
		plain.start()
		completed(t, gpu.run("tagged-1", "Tagged", nil), `["compute:tag=gpu","plain:tag=untagged"]`)
		if n := gpu.rt.MetricsSnapshot().ActivitySuccess; n != 1 {
			t.Fatalf("the gpu runtime ran %d activities, want 1 (the untagged one is not its)", n)
		}
	})
}

// test_default_only_ignores_tagged_activity, test_starvation_safe_tagged_activity_timeout_fallback:
// a default worker never takes a tagged activity; a Race against a 500 ms timer falls back.
func TestE2ETagDefaultOnlyIgnoresTaggedActivity(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		var gpuRuns atomic.Int32
		e.activity("GpuInference", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			gpuRuns.Add(1)
			return "gpu:" + in.String(), nil
		})
		e.activity("CpuFallback", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "cpu_fallback:" + in.String(), nil
		})
		e.orchestration("Fallback", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			v, err := ctx.Yield(ctx.Race(ctx.ScheduleActivity("GpuInference", in).WithTag("gpu"), ctx.ScheduleTimer(500*time.Millisecond)))
			if err != nil {
				return nil, err
			}
			if i, err := raceIndex(v); err != nil || i != 1 {
				return nil, fmt.Errorf("race winner %s (%v), want the timer", v, err)
			}
			return ctx.Yield(ctx.ScheduleActivity("CpuFallback", in))
		})
		e.start()
		completed(t, e.run("fallback-1", "Fallback", "model-v3"), `"cpu_fallback:model-v3"`)
		if n := gpuRuns.Load(); n != 0 {
			t.Fatalf("the gpu activity ran %d times on a default worker", n)
		}
	})
}

// test_default_and_filter_processes_both, test_heterogeneous_workers_gpu_cpu_untagged.
func TestE2ETagDefaultAndProcessesBoth(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerTagFilter: mustFilter(t)(duroxide.DefaultAndTags("gpu", "cpu"))})
		e.activity("Label", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "done:" + in.String() + ":" + tagLabel(ctx), nil
		})
		step := func(prefix, tag string) duroxide.Activity {
			return func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
				if got, _ := ctx.Tag(); got != tag {
					return nil, fmt.Errorf("tag %q, want %q", got, tag)
				}
				return prefix + ":" + in.String(), nil
			}
		}
		e.activity("Render", step("rendered", "gpu"))
		e.activity("Encode", step("encoded", "cpu"))
		e.activity("Upload", step("uploaded", ""))
		e.orchestration("Both", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.All(ctx.ScheduleActivity("Label", "tagged").WithTag("gpu"), ctx.ScheduleActivity("Label", "untagged")))
		})
		e.orchestration("Video", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			v, err := ctx.Yield(ctx.ScheduleActivity("Render", in).WithTag("gpu"))
			if err != nil {
				return nil, err
			}
			if v, err = ctx.Yield(ctx.ScheduleActivity("Encode", v).WithTag("cpu")); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleActivity("Upload", v))
		})
		e.start()
		completed(t, e.run("both-1", "Both", nil), `[{"ok":"done:tagged:tag=gpu"},{"ok":"done:untagged:tag=untagged"}]`)
		completed(t, e.run("video-1", "Video", "frame42"), `"uploaded:encoded:rendered:frame42"`)
	})
}

// test_any_filter_processes_all.
func TestE2ETagAnyProcessesAll(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerTagFilter: duroxide.AnyTag()})
		e.activity("Label", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			return tagLabel(ctx), nil
		})
		e.orchestration("Any", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			a, err := ctx.Yield(ctx.ScheduleActivity("Label", nil).WithTag("special"))
			if err != nil {
				return nil, err
			}
			b, err := ctx.Yield(ctx.ScheduleActivity("Label", nil))
			if err != nil {
				return nil, err
			}
			return []string{a.String(), b.String()}, nil
		})
		e.start()
		completed(t, e.run("any-1", "Any", nil), `["tag=special","tag=untagged"]`)
	})
}

// test_dual_runtime_orchestrator_plus_gpu_worker: an orchestration-only runtime (its
// filter NoTags runs no worker) schedules; a worker-only runtime with Tags{gpu} runs the
// gpu step, a default worker-only runtime the others.
func TestE2ETagDualRuntimeOrchestratorPlusGPUWorker(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		orch := newEnv(duroxide.RuntimeOptions{WorkerTagFilter: duroxide.NoTags()})
		gpu := newEnv(duroxide.RuntimeOptions{OrchestrationConcurrency: -1, WorkerTagFilter: mustFilter(t)(duroxide.TagsOnly("gpu"))})
		cpu := newEnv(duroxide.RuntimeOptions{OrchestrationConcurrency: -1})
		var mu sync.Mutex
		ranOn := map[string][]string{}
		for name, e := range map[string]*env{"orch": orch, "gpu": gpu, "cpu": cpu} {
			record := func(act, out string) duroxide.Activity {
				return func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
					mu.Lock()
					ranOn[name] = append(ranOn[name], act)
					mu.Unlock()
					return out + ":" + in.String(), nil
				}
			}
			e.activity("PreProcess", record("PreProcess", "preprocessed"))
			e.activity("GpuTrain", record("GpuTrain", "trained"))
			e.activity("SaveModel", record("SaveModel", "saved"))
		}
		orch.orchestration("Train", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			v, err := ctx.Yield(ctx.ScheduleActivity("PreProcess", in))
			if err != nil {
				return nil, err
			}
			if v, err = ctx.Yield(ctx.ScheduleActivity("GpuTrain", v).WithTag("gpu")); err != nil {
				return nil, err
			}
			return ctx.Yield(ctx.ScheduleActivity("SaveModel", v))
		})
		orch.start()
		gpu.start()
		cpu.start()
		completed(t, orch.run("train-1", "Train", "dataset-v5"), `"saved:trained:preprocessed:dataset-v5"`)
		mu.Lock()
		defer mu.Unlock()
		want := map[string][]string{"gpu": {"GpuTrain"}, "cpu": {"PreProcess", "SaveModel"}}
		for _, name := range []string{"orch", "gpu", "cpu"} {
			if !slices.Equal(ranOn[name], want[name]) {
				t.Errorf("runtime %s ran %v, want %v", name, ranOn[name], want[name])
			}
		}
	})
}

// Retry with WithTag: every attempt is tagged, in history and on the worker.
func TestE2ETagRetryKeepsTag(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerTagFilter: mustFilter(t)(duroxide.TagsOnly("gpu"))})
		var mu sync.Mutex
		var seen []string
		e.activity("Flaky", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
			mu.Lock()
			seen = append(seen, tagLabel(ctx))
			n := len(seen)
			mu.Unlock()
			if n < 3 {
				return nil, fmt.Errorf("attempt %d fails", n)
			}
			return "ok", nil
		})
		e.orchestration("Retry", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivityWithRetry("Flaky", nil,
				yield.RetryPolicy{MaxAttempts: 3, Backoff: yield.BackoffFixed, BaseDelay: 5 * time.Millisecond}).WithTag("gpu"))
		})
		e.start()
		completed(t, e.run("retry-1", "Retry", nil), `"ok"`)
		mu.Lock()
		got := slices.Clone(seen)
		mu.Unlock()
		if want := []string{"tag=gpu", "tag=gpu", "tag=gpu"}; !slices.Equal(got, want) {
			t.Fatalf("attempts saw %v, want %v", got, want)
		}
		n := 0
		for _, ev := range ftHistory(t, e, "retry-1", 0) {
			if ev.Kind == history.ActivityScheduled {
				n++
				if ev.Tag != "gpu" {
					t.Errorf("ActivityScheduled %d tagged %q, want gpu", ev.EventID, ev.Tag)
				}
			}
		}
		if n != 3 {
			t.Fatalf("%d ActivityScheduled events, want 3", n)
		}
	})
}

// The engine's limit: a tag over 256 bytes fails the Yield (ErrInvalidTask); returned, it
// fails the orchestration with the Rust message, and nothing is scheduled.
func TestE2ETagTooLongFailsOrchestration(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{WorkerTagFilter: duroxide.AnyTag()})
		e.activity("Work", func(ctx *duroxide.ActivityContext, in yield.Value) (any, error) { return "ran", nil })
		e.orchestration("Long", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			_, err := ctx.Yield(ctx.ScheduleActivity("Work", nil).WithTag(strings.Repeat("x", 257)))
			if !errors.Is(err, yield.ErrInvalidTask) {
				return nil, fmt.Errorf("want ErrInvalidTask, got %v", err)
			}
			return nil, err
		})
		e.start()
		res := e.run("long-1", "Long", nil)
		if res.Status != duroxide.StatusFailed || !strings.Contains(res.Error, "Activity 'Work' tag size (257 bytes) exceeds limit (256 bytes)") {
			t.Fatalf("status %s, error %q; want Failed with the tag size message", res.Status, res.Error)
		}
		if n := ftCount(ftHistory(t, e, "long-1", 0), history.ActivityScheduled, 0); n != 0 {
			t.Fatalf("%d activities scheduled, want none", n)
		}
	})
}

// test_tag_filter_class: the constructors validate (1..5 tags, each non-empty and at
// most 256 bytes), sort and deduplicate; Matches and String follow the mode.
func TestTagFilterConstructors(t *testing.T) {
	bad := map[string][]string{
		"no tags":   nil,
		"6 tags":    {"a", "b", "c", "d", "e", "f"},
		"empty tag": {"gpu", ""},
		"257 bytes": {strings.Repeat("t", 257)},
	}
	for name, tags := range bad {
		for ctor, fn := range map[string]func(...string) (duroxide.TagFilter, error){"TagsOnly": duroxide.TagsOnly, "DefaultAndTags": duroxide.DefaultAndTags} {
			if f, err := fn(tags...); !errors.Is(err, duroxide.ErrInvalidTagFilter) {
				t.Errorf("%s(%s) = %v, %v; want ErrInvalidTagFilter", ctor, name, f, err)
			}
		}
	}
	if _, err := duroxide.TagsOnly("a", "b", "c", "d", "e"); err != nil {
		t.Errorf("5 tags: %v", err)
	}
	if _, err := duroxide.TagsOnly(strings.Repeat("t", 256)); err != nil {
		t.Errorf("a 256-byte tag: %v", err)
	}
	tags := mustFilter(t)(duroxide.TagsOnly("gpu", "cpu", "gpu"))
	defAnd := mustFilter(t)(duroxide.DefaultAndTags("gpu"))
	cases := []struct {
		f    duroxide.TagFilter
		str  string
		want map[string]bool
	}{
		{duroxide.TagFilter{}, "default_only", map[string]bool{"": true, "gpu": false}},
		{tags, "tags(cpu,gpu)", map[string]bool{"": false, "gpu": true, "cpu": true, "tpu": false}},
		{defAnd, "default_and(gpu)", map[string]bool{"": true, "gpu": true, "cpu": false}},
		{duroxide.AnyTag(), "any", map[string]bool{"": true, "gpu": true}},
		{duroxide.NoTags(), "none", map[string]bool{"": false, "gpu": false}},
	}
	for _, c := range cases {
		if got := c.f.String(); got != c.str {
			t.Errorf("String() = %q, want %q", got, c.str)
		}
		for tag, want := range c.want {
			if got := c.f.Matches(tag); got != want {
				t.Errorf("%s.Matches(%q) = %v, want %v", c.str, tag, got, want)
			}
		}
	}
	if got := tags.Tags(); !slices.Equal(got, []string{"cpu", "gpu"}) {
		t.Errorf("Tags() = %v, want [cpu gpu]", got)
	}
}
