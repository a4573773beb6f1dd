package main

import (
	"context"
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// The sequence workload is one orchestration running -n activities one after another:
// each turn sees a longer history, so without the instance cache the cost per activity
// grows with n (every turn replays), and with it stays flat.

var sequenceWorkload = workload{
	params: func(c *config) []kv { return []kv{kvInt("n", c.n)} },
	register: func(rt *duroxide.Runtime, _ *config) error {
		if err := rt.RegisterActivity("SeqStep", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return in, nil
		}); err != nil {
			return err
		}
		return rt.RegisterOrchestration("Sequence", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			sum := 0
			for i := range n {
				v, err := yield.Await[int](ctx, ctx.ScheduleActivity("SeqStep", i))
				if err != nil {
					return nil, err
				}
				sum += v
			}
			return sum, nil
		})
	},
	run: func(ctx context.Context, b *bench) (result, error) {
		n := b.cfg.n
		t0 := time.Now()
		if err := b.client.StartOrchestration(ctx, "sequence", "Sequence", n); err != nil {
			return result{}, err
		}
		res, err := b.client.WaitForOrchestration(ctx, "sequence", 0)
		if err != nil {
			return result{}, err
		}
		elapsed := time.Since(t0)
		var sum int
		if res.Status != duroxide.StatusCompleted || res.Output.Decode(&sum) != nil || sum != n*(n-1)/2 {
			return result{}, fmt.Errorf("sequence: %s %s %s", res.Status, res.Output, res.Error)
		}
		return result{elapsed: elapsed, orchestrations: 1, activities: int64(n), perActivity: elapsed / time.Duration(n)}, nil
	},
}
