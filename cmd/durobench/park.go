package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// The park workload starts -n orchestrations that wait for an event, measures the
// process's memory once all are parked (after a GC), then raises every event and waits
// until all have completed. elapsed covers the whole run.

var parkWorkload = workload{
	params: func(c *config) []kv { return []kv{kvInt("n", c.n)} },
	register: func(rt *duroxide.Runtime, _ *config) error {
		return rt.RegisterOrchestration("Park", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.WaitForEvent("go"))
		})
	},
	run: runPark,
}

// parkSenders is how many goroutines start instances and raise events at once.
const parkSenders = 8

func runPark(ctx context.Context, b *bench) (result, error) {
	n := b.cfg.n
	id := func(i int) string { return fmt.Sprintf("park-%d", i) }
	t0 := time.Now()
	if err := parallel(n, func(i int) error { return b.client.StartOrchestration(ctx, id(i), "Park", nil) }); err != nil {
		return result{}, err
	}
	// Parked: every instance has run its first turn and no orchestrator work is left.
	if err := waitUntil(ctx, func() (bool, error) {
		if b.rt.MetricsSnapshot().OrchStarts < int64(n) {
			return false, nil
		}
		d, err := b.client.GetQueueDepths(ctx)
		return err == nil && d.OrchestratorQueue == 0, err
	}); err != nil {
		return result{}, fmt.Errorf("waiting for %d parked instances: %w", n, err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, err := rssMB()
	if err != nil {
		return result{}, err
	}
	if err := parallel(n, func(i int) error { return b.client.RaiseEvent(ctx, id(i), "go", i) }); err != nil {
		return result{}, err
	}
	if err := waitUntil(ctx, func() (bool, error) {
		return b.rt.MetricsSnapshot().OrchCompletions >= int64(n), nil
	}); err != nil {
		return result{}, fmt.Errorf("waiting for %d completions: %w", n, err)
	}
	elapsed := time.Since(t0)
	for _, i := range []int{0, n / 2, n - 1} { // spot checks; the metrics counted the rest
		res, err := b.client.GetStatus(ctx, id(i))
		if err != nil {
			return result{}, err
		}
		var got int
		if res.Status != duroxide.StatusCompleted || res.Output.Decode(&got) != nil || got != i {
			return result{}, fmt.Errorf("%s: %s %s %s", id(i), res.Status, res.Output, res.Error)
		}
	}
	return result{elapsed: elapsed, orchestrations: int64(n), rssMB: rss, heapMB: float64(ms.HeapInuse) / (1 << 20)}, nil
}

// parallel calls fn(0..n-1) from parkSenders goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	next := make(chan int)
	for range parkSenders {
		wg.Go(func() {
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}

// waitUntil checks cond every 20 ms until it holds, fails, or ctx ends.
func waitUntil(ctx context.Context, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// rssMB reads the process's resident set size from /proc (Linux).
func rssMB() (float64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, fmt.Errorf("rss: %w", err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("rss: no VmRSS in /proc/self/status: %w", sc.Err())
}
