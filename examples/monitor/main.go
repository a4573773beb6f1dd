// Command monitor shows an eternal orchestration: a health monitor that checks a service,
// publishes what it saw as its custom status, sleeps on a durable timer, and continues as
// new so that its history never grows. A "stop" event ends it; until then it loops
// forever, across restarts. Old executions are pruned from the client.
//
//	go run ./examples/monitor          # uses ./monitor.db (or -db PATH)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// State is carried from one execution to the next.
type State struct {
	Service   string `json:"service"`
	Checks    int    `json:"checks"`
	Unhealthy int    `json:"unhealthy"`
	// IntervalMs is the pause between two checks.
	IntervalMs int64 `json:"interval_ms"`
}

// Monitor runs one check per execution. It races the pause against a "stop" event, so a
// stop request ends it at once instead of after the pause.
func Monitor(ctx *yield.Ctx, input yield.Value) (any, error) {
	var st State
	if err := input.Decode(&st); err != nil {
		return nil, err
	}
	healthy, err := yield.Await[bool](ctx, ctx.ScheduleActivity("CheckHealth", st.Service))
	if err != nil {
		return nil, err
	}
	st.Checks++
	if !healthy {
		st.Unhealthy++
		ctx.TraceWarn(st.Service + " is unhealthy")
	}
	ctx.SetCustomStatus(fmt.Sprintf("check %d: healthy=%v", st.Checks, healthy))
	idx, _, err := yield.AwaitRace(ctx, ctx.WaitForEvent("stop"),
		ctx.ScheduleTimer(time.Duration(st.IntervalMs)*time.Millisecond))
	if err != nil {
		return nil, err
	}
	if idx == 0 {
		return fmt.Sprintf("stopped after %d checks (%d unhealthy)", st.Checks, st.Unhealthy), nil
	}
	return ctx.Yield(ctx.ContinueAsNew(st))
}

// service is a fake service whose every third check fails.
type service struct {
	mu     sync.Mutex
	checks int
}

func (s *service) checkHealth(_ *duroxide.ActivityContext, _ yield.Value) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks++
	return s.checks%3 != 0, nil
}

func main() {
	dbPath := flag.String("db", "monitor.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	store, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	svc := &service{}
	if err := rt.RegisterActivity("CheckHealth", svc.checkHealth); err != nil {
		return err
	}
	if err := rt.RegisterOrchestration("Monitor", Monitor); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	id := fmt.Sprintf("monitor-%d", time.Now().UnixNano())
	if err := client.StartOrchestration(ctx, id, "Monitor", State{Service: "db-primary", IntervalMs: 20}); err != nil {
		return err
	}
	// Follow the custom status until five checks are done.
	var version uint64
	for {
		st, err := client.WaitForStatusChange(ctx, id, version, 10*time.Millisecond, 30*time.Second)
		if err != nil {
			return err
		}
		version = st.CustomStatusVersion
		fmt.Fprintf(out, "status: %s\n", *st.CustomStatus)
		if *st.CustomStatus == "check 5: healthy=true" || version >= 5 {
			break
		}
	}
	if err := client.RaiseEvent(ctx, id, "stop", nil); err != nil {
		return err
	}
	res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
	if err != nil {
		return err
	}
	outcome, err := duroxide.OutputAs[string](res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "result: %s\n", outcome)
	execs, err := client.ListExecutions(ctx, id)
	if err != nil {
		return err
	}
	pruned, err := client.PruneExecutions(ctx, id, duroxide.PruneOptions{KeepLast: 1})
	if err != nil {
		return err
	}
	left, err := client.ListExecutions(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "executions: %d, pruned %d, left %d\n", len(execs), pruned.ExecutionsDeleted, len(left))
	return nil
}
