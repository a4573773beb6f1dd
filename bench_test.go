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
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// benchStore names a store the benchmarks run on and opens a fresh one.
type benchStore struct {
	name string
	open func(b *testing.B) history.Store
}

// benchStores: a SQLite file with each durability, and PostgreSQL on a fresh schema
// (dropped afterwards) when DATABASE_URL is set.
var benchStores = []benchStore{
	{"sqlite-file-FULL", func(b *testing.B) history.Store { return benchSQLite(b) }},
	{"sqlite-file-NORMAL", func(b *testing.B) history.Store { return benchSQLite(b, sqlitestore.WithSynchronousNormal()) }},
	{"postgres", func(b *testing.B) history.Store {
		url, schema := pgFreshSchema(b, "bench") // skips without DATABASE_URL
		return pgConnect(b, url, schema, pgstore.DefaultMaxConns)
	}},
}

func benchSQLite(b *testing.B, opts ...sqlitestore.Option) history.Store {
	store, err := sqlitestore.Open(filepath.Join(b.TempDir(), "bench.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	return store
}

// benchRuntime starts a runtime on a fresh store made by open.
func benchRuntime(b *testing.B, open func(b *testing.B) history.Store, opts duroxide.RuntimeOptions) (*duroxide.Runtime, *duroxide.Client, func()) {
	b.Helper()
	store := open(b)
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

// BenchmarkLatencyOneActivity measures start-to-completion of a one-activity
// orchestration, one at a time, and reports p50 and p99.
func BenchmarkLatencyOneActivity(b *testing.B) {
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			_, client, stop := benchRuntime(b, st.open, duroxide.RuntimeOptions{})
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
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			_, client, stop := benchRuntime(b, st.open, duroxide.RuntimeOptions{OrchestrationConcurrency: 4, WorkerConcurrency: 8})
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
