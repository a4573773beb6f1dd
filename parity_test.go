package duroxide_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Edge cases of the Python SDK surface on a real runtime, on every store and with the
// instance cache on and off (replay every turn).

func TestParityCustomStatusAcrossContinueAsNew(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("Echo", echo)
		e.orchestration("Generations", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var gen int
			if err := in.Decode(&gen); err != nil {
				return nil, err
			}
			seen, ok := ctx.GetCustomStatus()
			switch gen {
			case 1:
				if ok {
					return nil, fmt.Errorf("gen 1 sees status %q", seen)
				}
				ctx.SetCustomStatus("gen1")
			case 2:
				if !ok || seen != "gen1" {
					return nil, fmt.Errorf("gen 2 sees %q, %v; want gen1", seen, ok)
				}
				ctx.SetCustomStatus("gen2")
				ctx.ResetCustomStatus()
			case 3:
				if ok {
					return nil, fmt.Errorf("gen 3 sees status %q after a reset", seen)
				}
				ctx.SetCustomStatus("gen3")
				// Still there after a turn boundary.
				if _, err := ctx.Yield(ctx.ScheduleActivity("Echo", "x")); err != nil {
					return nil, err
				}
				if s, _ := ctx.GetCustomStatus(); s != "gen3" {
					return nil, fmt.Errorf("gen 3 sees %q after a turn", s)
				}
				return "done", nil
			}
			return ctx.Yield(ctx.ContinueAsNew(gen + 1))
		})
		e.start()
		res := e.run("gens", "Generations", 1)
		completed(t, res, `"done"`)
		if res.CustomStatus == nil || *res.CustomStatus != "gen3" {
			t.Fatalf("custom status %v, want gen3", res.CustomStatus)
		}
		// The version counts the turns that changed the status: gen1; gen2's set-then-reset
		// (one change, to none); gen3. It carries across executions.
		if res.CustomStatusVersion != 3 {
			t.Fatalf("custom status version %d, want 3", res.CustomStatusVersion)
		}
	})
}

func TestParityKVReadModifyWriteAcrossTurnsAndContinueAsNew(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.activity("Echo", echo)
		e.orchestration("Counter", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var gen int
			if err := in.Decode(&gen); err != nil {
				return nil, err
			}
			for range 3 {
				v, _ := ctx.GetKVValue("count")
				n, _ := strconv.Atoi(v) // "" (absent) counts as 0
				if _, err := ctx.Yield(ctx.ScheduleActivity("Echo", n)); err != nil {
					return nil, err
				}
				ctx.SetKVValue("count", strconv.Itoa(n+1))
			}
			if gen < 2 {
				return ctx.Yield(ctx.ContinueAsNew(gen + 1))
			}
			v, _ := ctx.GetKVValue("count")
			return v, nil
		})
		e.start()
		completed(t, e.run("counter", "Counter", 1), `"6"`)
		v, ok, err := e.client.GetKVValue(e.ctx, "counter", "count")
		if err != nil || !ok || v != "6" {
			t.Fatalf("GetKVValue = %q, %v, %v; want 6", v, ok, err)
		}
	})
}

func TestParityQueueAndEventsSurviveContinueAsNew(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		// Each execution takes one queue message and continues as new with what it has
		// seen; the third also takes both "ping" events, raised before the first ran.
		e.orchestration("Drain", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var seen []string
			if err := in.Decode(&seen); err != nil {
				return nil, err
			}
			m, err := ctx.Yield(ctx.DequeueEvent("inbox"))
			if err != nil {
				return nil, err
			}
			seen = append(seen, m.String())
			if len(seen) < 3 {
				return ctx.Yield(ctx.ContinueAsNew(seen))
			}
			for range 2 {
				p, err := ctx.Yield(ctx.WaitForEvent("ping"))
				if err != nil {
					return nil, err
				}
				seen = append(seen, p.String())
			}
			return strings.Join(seen, ","), nil
		})
		if err := e.client.StartOrchestration(e.ctx, "drain", "Drain", []string{}); err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"m1", "m2", "m3"} {
			if err := e.client.EnqueueEvent(e.ctx, "drain", "inbox", m); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []string{"p1", "p2"} {
			if err := e.client.RaiseEvent(e.ctx, "drain", "ping", p); err != nil {
				t.Fatal(err)
			}
		}
		e.start()
		completed(t, e.wait("drain"), `"m1,m2,m3,p1,p2"`)
	})
}

func TestParityLimitsFailLoudly(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("TooManyKeys", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			for i := range yield.MaxKVKeys + 1 {
				ctx.SetKVValue(fmt.Sprintf("k%03d", i), "v")
			}
			return "unreachable", nil
		})
		e.orchestration("BigValue", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			ctx.SetKVValue("big", strings.Repeat("x", yield.MaxKVValueBytes+1))
			return "unreachable", nil
		})
		e.orchestration("BigStatus", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			ctx.SetCustomStatus(strings.Repeat("x", yield.MaxCustomStatusBytes+1))
			return "unreachable", nil
		})
		e.start()
		for name, want := range map[string]string{
			"TooManyKeys": "KV key count (151) exceeds limit (150)",
			"BigValue":    "KV value for key 'big' (65537 bytes) exceeds limit (65536 bytes)",
			"BigStatus":   "Custom status size (262145 bytes) exceeds limit (262144 bytes)",
		} {
			res := e.run(strings.ToLower(name), name, nil)
			if res.Status != duroxide.StatusFailed || !strings.Contains(res.Error, want) {
				t.Errorf("%s: status %s, error %q; want Failed with %q", name, res.Status, res.Error, want)
			}
		}
		// The writes before the failing one stand (they are history, as in Python where
		// the limit raises at the call); the failing one is not recorded.
		if v, ok, err := e.client.GetKVValue(e.ctx, "toomanykeys", "k149"); err != nil || !ok || v != "v" {
			t.Errorf("key k149: %q, %v, %v; want v", v, ok, err)
		}
		if v, ok, err := e.client.GetKVValue(e.ctx, "toomanykeys", "k150"); err != nil || ok {
			t.Errorf("key k150: %q, %v, %v; want none", v, ok, err)
		}
		if v, ok, err := e.client.GetKVValue(e.ctx, "bigvalue", "big"); err != nil || ok {
			t.Errorf("key big: %d bytes, %v, %v; want none", len(v), ok, err)
		}
	})
}

func TestParityKVAcrossInstancesAndWaitForKVValue(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{})
		e.orchestration("Producer", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			ctx.SetKVValue("phase", "waiting")
			v, err := ctx.Yield(ctx.WaitForEvent("go"))
			if err != nil {
				return nil, err
			}
			ctx.SetKVValue("result", v.String())
			_, err = ctx.Yield(ctx.WaitForEvent("done"))
			return "produced", err
		})
		e.orchestration("Consumer", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			missing, err := ctx.Yield(ctx.GetKVValueFromInstance("producer", "nope"))
			if err != nil {
				return nil, err
			}
			got, err := ctx.Yield(ctx.GetKVValueFromInstance("producer", "result"))
			if err != nil {
				return nil, err
			}
			return map[string]any{"missing": missing, "result": got}, nil
		})
		e.start()
		if err := e.client.StartOrchestration(e.ctx, "producer", "Producer", nil); err != nil {
			t.Fatal(err)
		}
		// The wait starts before the value exists and sees it once it is written.
		if v, err := e.client.WaitForKVValue(e.ctx, "producer", "phase", 20*time.Second); err != nil || v != "waiting" {
			t.Fatalf("WaitForKVValue(phase) = %q, %v", v, err)
		}
		type waited struct {
			v   string
			err error
		}
		ch := make(chan waited, 1)
		go func() {
			v, err := e.client.WaitForKVValue(e.ctx, "producer", "result", 20*time.Second)
			ch <- waited{v, err}
		}()
		if err := e.client.RaiseEvent(e.ctx, "producer", "go", "forty-two"); err != nil {
			t.Fatal(err)
		}
		if w := <-ch; w.err != nil || w.v != "forty-two" {
			t.Fatalf("WaitForKVValue(result) = %q, %v", w.v, w.err)
		}
		completed(t, e.run("consumer", "Consumer", nil), `{"missing":null,"result":"forty-two"}`)
		if err := e.client.RaiseEvent(e.ctx, "producer", "done", nil); err != nil {
			t.Fatal(err)
		}
		completed(t, e.wait("producer"), `"produced"`)
	})
}

func TestParityContinueAsNewSuggested(t *testing.T) {
	eachMode(t, func(t *testing.T, newEnv func(duroxide.RuntimeOptions) *env) {
		e := newEnv(duroxide.RuntimeOptions{MaxHistoryEvents: 40})
		e.activity("Echo", echo)
		e.orchestration("Loop", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var gen int
			if err := in.Decode(&gen); err != nil {
				return nil, err
			}
			for i := 0; !ctx.IsContinueAsNewSuggested(); i++ {
				if _, err := ctx.Yield(ctx.ScheduleActivity("Echo", i)); err != nil {
					return nil, err
				}
			}
			if gen < 2 {
				return ctx.Yield(ctx.ContinueAsNew(gen + 1))
			}
			return gen, nil
		})
		e.start()
		completed(t, e.run("loop", "Loop", 1), "2")
		for _, exec := range []uint64{1, 2} {
			evs, err := e.client.ReadExecutionHistory(e.ctx, "loop", exec)
			if err != nil {
				t.Fatal(err)
			}
			// Suggested past 80% of 40 events: the execution stops well before the cap.
			if len(evs) < 32 || len(evs) > 40 {
				t.Fatalf("execution %d has %d events, want 32..40", exec, len(evs))
			}
		}
	})
}
