package duroxidecli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/internal/cli"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// TestMetricsHandler: the store's gauges in the Prometheus text format.
func TestMetricsHandler(t *testing.T) {
	s, err := sqlitestore.InMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := duroxide.NewClient(s)
	ctx := context.Background()
	if err := c.StartOrchestration(ctx, "m1", "Anything", nil); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(MetricsHandler(c))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"# TYPE duroxide_queue_depth gauge", `duroxide_queue_depth{queue="orchestrator"} 1`, "duroxide_executions"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
}

// TestSetup: a binary built with Setup replays its registered code.
func TestSetup(t *testing.T) {
	db := filepath.Join(t.TempDir(), "app.db")
	s, err := sqlitestore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rt, err := duroxide.NewRuntime(s, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	flow := func(ctx *yield.Ctx, in yield.Value) (any, error) {
		return ctx.Yield(ctx.ScheduleTimer(time.Millisecond))
	}
	if err := rt.RegisterOrchestration("Flow", flow); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c := duroxide.NewClient(s)
	if err := c.StartOrchestration(ctx, "f1", "Flow", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitForOrchestration(ctx, "f1", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	Setup(map[string]yield.Orchestration{"Flow": flow})
	t.Cleanup(func() {
		cli.RegisterOrchestrations(map[string]yield.Orchestration{"Flow": nil})
		cli.MetricsHandler = nil
	})
	if cli.MetricsHandler == nil {
		t.Error("Setup did not set the metrics hook")
	}
	var out, errb bytes.Buffer
	if code := cli.RunContext(ctx, []string{"-db", db, "replay", "f1"}, &out, &errb); code != cli.ExitOK || !strings.Contains(out.String(), "clean") {
		t.Fatalf("replay: exit %d\n%s%s", code, out.String(), errb.String())
	}
}
