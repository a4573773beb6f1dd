// Command fanout shows fan-out/fan-in: an orchestration schedules one activity per input
// at once, waits for all of them, and aggregates what came back, although one of them
// fails. The same fan-out is written twice: with ctx.All, whose result is the raw JSON
// array of {"ok": value} / {"err": "message"} objects, and with the typed helper
// yield.AwaitAll, which gives one Result{Value, Err} per task.
//
//	go run ./examples/fanout            # uses ./fanout.db (or -db PATH)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// Square is the activity fanned out; it refuses 3 so that one branch fails.
func Square(ctx *duroxide.ActivityContext, input yield.Value) (any, error) {
	var n int
	if err := input.Decode(&n); err != nil {
		return nil, err
	}
	if n == 3 {
		return nil, errors.New("3 is unlucky")
	}
	return n * n, nil
}

// Summary is the fan-in: what both orchestrations return.
type Summary struct {
	Results []yield.Value `json:"results,omitempty"` // ctx.All's raw entries, for display
	OK      int           `json:"ok"`
	Failed  []string      `json:"failed"`
	Sum     int           `json:"sum"`
}

// FanOutAll uses ctx.All. A failed activity does not fail the All: it becomes an
// {"err": ...} entry, so the orchestration decides what a partial failure means.
func FanOutAll(ctx *yield.Ctx, input yield.Value) (any, error) {
	var ns []int
	if err := input.Decode(&ns); err != nil {
		return nil, err
	}
	tasks := make([]yield.Task, len(ns))
	for i, n := range ns {
		tasks[i] = ctx.ScheduleActivity("Square", n)
	}
	raw, err := ctx.Yield(ctx.All(tasks...))
	if err != nil {
		return nil, err // only a structural problem gets here
	}
	var results []yield.Value
	if err := raw.Decode(&results); err != nil {
		return nil, err
	}
	s := Summary{Results: results, Failed: []string{}}
	for _, r := range results { // each is {"ok": value} or {"err": "message"}
		if msg := r.Field("err"); !msg.IsNull() {
			s.Failed = append(s.Failed, msg.String())
			continue
		}
		var v int
		if err := r.Field("ok").Decode(&v); err != nil {
			return nil, err
		}
		s.OK++
		s.Sum += v
	}
	return s, nil
}

// FanOutTyped is the same fan-out with yield.AwaitAll: no JSON shapes to decode, and a
// failure is a *yield.TaskError in Result.Err.
func FanOutTyped(ctx *yield.Ctx, input yield.Value) (any, error) {
	var ns []int
	if err := input.Decode(&ns); err != nil {
		return nil, err
	}
	tasks := make([]yield.Task, len(ns))
	for i, n := range ns {
		tasks[i] = ctx.ScheduleActivity("Square", n)
	}
	results, err := yield.AwaitAll(ctx, tasks...)
	if err != nil {
		return nil, err
	}
	s := Summary{Failed: []string{}}
	for _, r := range results {
		var v int
		if r.Err == nil {
			r.Err = r.Value.Decode(&v)
		}
		if r.Err != nil {
			s.Failed = append(s.Failed, r.Err.Error())
			continue
		}
		s.OK++
		s.Sum += v
	}
	return s, nil
}

func main() {
	dbPath := flag.String("db", "fanout.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "fanout:", err)
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
	if err := rt.RegisterActivity("Square", Square); err != nil {
		return err
	}
	if err := rt.RegisterOrchestration("FanOutAll", FanOutAll); err != nil {
		return err
	}
	if err := rt.RegisterOrchestration("FanOutTyped", FanOutTyped); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	inputs := []int{1, 2, 3, 4, 5}
	// A fresh id per run, so the program can run again on the same database file.
	base := fmt.Sprintf("fanout-%d", time.Now().UnixNano())
	for _, name := range []string{"FanOutAll", "FanOutTyped"} {
		id := base + "-" + name
		if err := client.StartOrchestration(ctx, id, name, inputs); err != nil {
			return err
		}
		res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
		if err != nil {
			return err
		}
		s, err := duroxide.OutputAs[Summary](res)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %s of %d Square activities\n", id, name, len(inputs))
		for i, r := range s.Results {
			fmt.Fprintf(out, "  Square(%d) -> %s\n", inputs[i], r.Raw())
		}
		fmt.Fprintf(out, "  aggregate: %d ok, sum of squares %d, %d failed %q\n", s.OK, s.Sum, len(s.Failed), s.Failed)
	}
	return nil
}
