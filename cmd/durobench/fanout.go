package main

import (
	"context"
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// The fanout workload is duroxide's stress shape: -instances orchestrations in flight
// (a new one starts as soon as one completes) until -total have run, each fanning out
// -tasks parallel activities that sleep -delay.

var fanoutWorkload = workload{
	params: func(c *config) []kv {
		return []kv{kvInt("instances", c.instances), kvInt("tasks", c.tasks), {"delay", c.delay.String()}, kvInt("total", c.total)}
	},
	register: func(rt *duroxide.Runtime, c *config) error {
		delay := c.delay
		if err := rt.RegisterActivity("FanoutSleep", func(a *duroxide.ActivityContext, in yield.Value) (any, error) {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-a.Context().Done():
			}
			return in, nil
		}); err != nil {
			return err
		}
		return rt.RegisterOrchestration("Fanout", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			var n int
			if err := in.Decode(&n); err != nil {
				return nil, err
			}
			tasks := make([]yield.Task, n)
			for i := range tasks {
				tasks[i] = ctx.ScheduleActivity("FanoutSleep", i)
			}
			got, err := yield.AwaitAllOf[int](ctx, tasks...)
			if err != nil {
				return nil, err
			}
			return len(got), nil
		})
	},
	run: func(ctx context.Context, b *bench) (result, error) {
		c := b.cfg
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		slots := make(chan struct{}, c.instances)
		errs := make(chan error, c.total)
		t0 := time.Now()
		started, finished := 0, 0
		for ; started < c.total; started++ {
			select {
			case slots <- struct{}{}:
			case err := <-errs:
				finished++
				if err != nil {
					return result{}, err
				}
				slots <- struct{}{} // a slot was freed before its error was sent
			}
			id := fmt.Sprintf("fanout-%d", started)
			go func() {
				err := fanoutOne(ctx, b.client, id, c.tasks)
				<-slots
				errs <- err
			}()
		}
		for ; finished < c.total; finished++ {
			if err := <-errs; err != nil {
				return result{}, err
			}
		}
		elapsed := time.Since(t0)
		return result{elapsed: elapsed, orchestrations: int64(c.total), activities: int64(c.total * c.tasks)}, nil
	},
}

func fanoutOne(ctx context.Context, client *duroxide.Client, id string, tasks int) error {
	if err := client.StartOrchestration(ctx, id, "Fanout", tasks); err != nil {
		return err
	}
	res, err := client.WaitForOrchestration(ctx, id, 0)
	if err != nil {
		return err
	}
	if res.Status != duroxide.StatusCompleted {
		return fmt.Errorf("%s: %s %s", id, res.Status, res.Error)
	}
	return nil
}
