package duroxide_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// benchRuntime starts a runtime on a fresh SQLite file with the given durability.
func benchRuntime(b *testing.B, normal bool, opts duroxide.RuntimeOptions) (*duroxide.Runtime, *duroxide.Client, func()) {
	b.Helper()
	var sopts []sqlitestore.Option
	if normal {
		sopts = append(sopts, sqlitestore.WithSynchronousNormal())
	}
	store, err := sqlitestore.Open(filepath.Join(b.TempDir(), "bench.db"), sopts...)
	if err != nil {
		b.Fatal(err)
	}
	nop := zerolog.Nop()
	opts.Logger = &nop
	rt, err := duroxide.NewRuntime(store, opts)
	if err != nil {
		b.Fatal(err)
	}
	_ = rt.RegisterActivity("Work", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil })
	_ = rt.RegisterOrchestration("One", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleActivity("Work", in))
	})
	_ = rt.RegisterOrchestration("Ten", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		for i := range 10 {
			if _, err := ctx.Yield(ctx.ScheduleActivity("Work", i)); err != nil {
				return nil, err
			}
		}
		return "done", nil
	})
	if err := rt.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return rt, duroxide.NewClient(store), func() {
		_ = rt.Shutdown(10 * time.Second)
		_ = store.Close()
	}
}

func durabilityName(normal bool) string {
	if normal {
		return "sqlite-file-NORMAL"
	}
	return "sqlite-file-FULL"
}

// BenchmarkLatencyOneActivity measures start-to-completion of a one-activity
// orchestration, one at a time, and reports p50 and p99.
func BenchmarkLatencyOneActivity(b *testing.B) {
	for _, normal := range []bool{false, true} {
		b.Run(durabilityName(normal), func(b *testing.B) {
			_, client, stop := benchRuntime(b, normal, duroxide.RuntimeOptions{})
			defer stop()
			ctx := context.Background()
			var lat []time.Duration
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("lat-%d", i)
				i++
				t0 := time.Now()
				if err := client.StartOrchestration(ctx, id, "One", i); err != nil {
					b.Fatal(err)
				}
				res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
				if err != nil || res.Status != duroxide.StatusCompleted {
					b.Fatalf("%+v %v", res, err)
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkThroughput100x10 runs 100 orchestrations of 10 sequential activities each,
// all started at once, and reports orchestrations/s and activities/s.
func BenchmarkThroughput100x10(b *testing.B) {
	for _, normal := range []bool{false, true} {
		b.Run(durabilityName(normal), func(b *testing.B) {
			_, client, stop := benchRuntime(b, normal, duroxide.RuntimeOptions{OrchestrationConcurrency: 4, WorkerConcurrency: 8})
			defer stop()
			ctx := context.Background()
			round := 0
			var total time.Duration
			for b.Loop() {
				t0 := time.Now()
				for j := range 100 {
					if err := client.StartOrchestration(ctx, fmt.Sprintf("tp-%d-%d", round, j), "Ten", nil); err != nil {
						b.Fatal(err)
					}
				}
				for j := range 100 {
					res, err := client.WaitForOrchestration(ctx, fmt.Sprintf("tp-%d-%d", round, j), time.Minute)
					if err != nil || res.Status != duroxide.StatusCompleted {
						b.Fatalf("%+v %v", res, err)
					}
				}
				total += time.Since(t0)
				round++
			}
			secs := total.Seconds()
			b.ReportMetric(float64(100*round)/secs, "orch/s")
			b.ReportMetric(float64(1000*round)/secs, "act/s")
		})
	}
}
