package promexporter_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/promexporter"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// env runs one orchestration to completion and leaves another waiting, on a fresh store.
func env(t *testing.T) (*duroxide.Runtime, *duroxide.Client) {
	t.Helper()
	store, err := sqlitestore.InMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.RegisterActivity("Echo", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) { return in, nil }); err != nil {
		t.Fatal(err)
	}
	if err := rt.RegisterOrchestration("Once", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleActivity("Echo", in))
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.RegisterOrchestration("Waits", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleTimer(time.Hour))
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(5 * time.Second) })
	c := duroxide.NewClient(store)
	if err := c.StartOrchestration(ctx, "once", "Once", "x"); err != nil {
		t.Fatal(err)
	}
	if res, err := c.WaitForOrchestration(ctx, "once", 20*time.Second); err != nil || res.Status != duroxide.StatusCompleted {
		t.Fatalf("once: %+v, %v", res, err)
	}
	if err := c.StartOrchestration(ctx, "waits", "Waits", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		d, err := c.GetQueueDepths(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.TimerQueue == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the timer never got queued")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return rt, c
}

func TestCollectorExportsRuntimeCountersAndStoreGauges(t *testing.T) {
	rt, c := env(t)
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexporter.NewCollector(promexporter.Options{Runtime: rt, Client: c, ConstLabels: prometheus.Labels{"service": "test"}}))

	want := `
# HELP duroxide_activity_success_total Activities that succeeded.
# TYPE duroxide_activity_success_total counter
duroxide_activity_success_total{service="test"} 1
# HELP duroxide_instances Instances in the store by the status of their current execution.
# TYPE duroxide_instances gauge
duroxide_instances{service="test",status="completed"} 1
duroxide_instances{service="test",status="failed"} 0
duroxide_instances{service="test",status="running"} 1
# HELP duroxide_queue_depth Unlocked messages in the store's queues (timer: orchestrator messages not yet due).
# TYPE duroxide_queue_depth gauge
duroxide_queue_depth{queue="orchestrator",service="test"} 0
duroxide_queue_depth{queue="timer",service="test"} 1
duroxide_queue_depth{queue="worker",service="test"} 0
# HELP duroxide_scrape_store_errors 1 when the last scrape could not read the store's gauges.
# TYPE duroxide_scrape_store_errors gauge
duroxide_scrape_store_errors{service="test"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"duroxide_activity_success_total", "duroxide_instances", "duroxide_queue_depth", "duroxide_scrape_store_errors"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(promexporter.NewCollector(promexporter.Options{Runtime: rt})); n != 25 {
		t.Fatalf("a runtime-only collector sends %d metrics, want 25", n)
	}
	if err := testutil.CollectAndCompare(promexporter.NewCollector(promexporter.Options{Runtime: rt}), strings.NewReader(`
# HELP duroxide_orchestration_starts_total Executions started (first turns and continue-as-new).
# TYPE duroxide_orchestration_starts_total counter
duroxide_orchestration_starts_total 2
`), "duroxide_orchestration_starts_total"); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerServesTextFormatAndLint(t *testing.T) {
	rt, c := env(t)
	reg := prometheus.NewRegistry()
	col := promexporter.NewCollector(promexporter.Options{Runtime: rt, Client: c, Namespace: "app"})
	reg.MustRegister(col)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"app_orchestration_completions_total 1", "app_executions 2", `app_instances{status="running"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
	problems, err := testutil.CollectAndLint(col)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}
