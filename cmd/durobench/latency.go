package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// The latency workload starts a one-activity orchestration and waits for its result,
// -n times one after another, and reports the median and 99th percentile. A few
// warm-up samples are taken first and not counted.

const latencyWarmup = 3

var latencyWorkload = workload{
	params: func(c *config) []kv { return []kv{kvInt("n", c.n), kvInt("warmup", latencyWarmup)} },
	register: func(rt *duroxide.Runtime, _ *config) error {
		if err := rt.RegisterActivity("Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return in, nil
		}); err != nil {
			return err
		}
		return rt.RegisterOrchestration("One", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			return ctx.Yield(ctx.ScheduleActivity("Echo", in))
		})
	},
	run: func(ctx context.Context, b *bench) (result, error) {
		n := b.cfg.n
		samples := make([]time.Duration, 0, n)
		var total time.Duration
		for i := range n + latencyWarmup {
			id := fmt.Sprintf("latency-%d", i)
			t0 := time.Now()
			if err := b.client.StartOrchestration(ctx, id, "One", i); err != nil {
				return result{}, err
			}
			res, err := b.client.WaitForOrchestration(ctx, id, 0)
			if err != nil {
				return result{}, err
			}
			d := time.Since(t0)
			if res.Status != duroxide.StatusCompleted {
				return result{}, fmt.Errorf("%s: %s %s", id, res.Status, res.Error)
			}
			if i >= latencyWarmup {
				samples = append(samples, d)
				total += d
			}
		}
		slices.Sort(samples)
		return result{
			elapsed: total, orchestrations: int64(n), activities: int64(n),
			p50: samples[len(samples)/2], p99: samples[min(len(samples)-1, len(samples)*99/100)],
		}, nil
	},
}
