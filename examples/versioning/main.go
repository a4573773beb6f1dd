// Command versioning shows a versioned upgrade. Version 1.0.0 of "Pipeline" is deployed
// and two instances start: a pipeline waiting for input, and an eternal "Cycler" that
// continues as new on every event. Then version 2.0.0 of both is deployed (a new runtime
// that registers both versions): new instances run 2.0.0, the running pipeline finishes
// on the 1.0.0 code it started with, and the cycler moves to 2.0.0 at its next
// continue-as-new.
//
//	go run ./examples/versioning          # uses ./versioning.db (or -db PATH)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// PipelineV1 extracts, waits for a go-ahead, and loads.
func PipelineV1(ctx *yield.Ctx, input yield.Value) (any, error) {
	data, err := ctx.Yield(ctx.ScheduleActivity("Extract", input))
	if err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.WaitForEvent("go")); err != nil {
		return nil, err
	}
	return ctx.Yield(ctx.ScheduleActivity("Load", data))
}

// PipelineV2 adds a transform step. Running 1.0.0 instances never see it: changing the
// steps of running code would break their replay, which is why it is a new version.
func PipelineV2(ctx *yield.Ctx, input yield.Value) (any, error) {
	data, err := ctx.Yield(ctx.ScheduleActivity("Extract", input))
	if err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.WaitForEvent("go")); err != nil {
		return nil, err
	}
	if data, err = ctx.Yield(ctx.ScheduleActivity("Transform", data)); err != nil {
		return nil, err
	}
	return ctx.Yield(ctx.ScheduleActivity("Load", data))
}

// CyclerV1 is eternal: each event starts a new execution, on the latest version.
func CyclerV1(ctx *yield.Ctx, input yield.Value) (any, error) {
	var n int
	if err := input.Decode(&n); err != nil {
		return nil, err
	}
	ctx.SetCustomStatus(fmt.Sprintf("v1 cycle %d", n))
	if _, err := ctx.Yield(ctx.WaitForEvent("tick")); err != nil {
		return nil, err
	}
	return ctx.Yield(ctx.ContinueAsNew(n + 1))
}

// CyclerV2 is the upgraded cycler: it finishes.
func CyclerV2(ctx *yield.Ctx, input yield.Value) (any, error) {
	var n int
	if err := input.Decode(&n); err != nil {
		return nil, err
	}
	return fmt.Sprintf("v2 took over at cycle %d", n), nil
}

func activities(rt *duroxide.Runtime) error {
	for name, fn := range map[string]func(string) string{
		"Extract":   func(s string) string { return "extracted(" + s + ")" },
		"Transform": func(s string) string { return "transformed(" + s + ")" },
		"Load":      func(s string) string { return "loaded(" + s + ")" },
	} {
		if err := rt.RegisterActivity(name, func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return fn(in.String()), nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// deploy starts a runtime with the given versions registered.
func deploy(ctx context.Context, store history.Store, withV2 bool) (*duroxide.Runtime, error) {
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond})
	if err != nil {
		return nil, err
	}
	if err := activities(rt); err != nil {
		return nil, err
	}
	type registration struct {
		name, version string
		fn            yield.Orchestration
	}
	regs := []registration{{"Pipeline", "1.0.0", PipelineV1}, {"Cycler", "1.0.0", CyclerV1}}
	if withV2 {
		regs = append(regs, registration{"Pipeline", "2.0.0", PipelineV2}, registration{"Cycler", "2.0.0", CyclerV2})
	}
	for _, r := range regs {
		if err := rt.RegisterOrchestrationVersioned(r.name, r.version, r.fn); err != nil {
			return nil, err
		}
	}
	return rt, rt.Start(ctx)
}

func main() {
	dbPath := flag.String("db", "versioning.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "versioning:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	store, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	client := duroxide.NewClient(store)
	base := fmt.Sprintf("v-%d", time.Now().UnixNano())
	oldPipe, newPipe, cycler := base+"-old", base+"-new", base+"-cycler"

	// Version 1 is live.
	v1, err := deploy(ctx, store, false)
	if err != nil {
		return err
	}
	if err := client.StartOrchestration(ctx, oldPipe, "Pipeline", "orders"); err != nil {
		return err
	}
	if err := client.StartOrchestration(ctx, cycler, "Cycler", 1); err != nil {
		return err
	}
	if _, err := client.WaitForStatusChange(ctx, cycler, 0, 10*time.Millisecond, 30*time.Second); err != nil {
		return err
	}
	if err := client.RaiseEvent(ctx, cycler, "tick", nil); err != nil { // cycle 2, still v1
		return err
	}
	if _, err := client.WaitForStatusChange(ctx, cycler, 1, 10*time.Millisecond, 30*time.Second); err != nil {
		return err
	}
	if err := v1.Shutdown(5 * time.Second); err != nil {
		return err
	}

	// Version 2 is deployed; version 1 stays registered for the instances running it.
	v2, err := deploy(ctx, store, true)
	if err != nil {
		return err
	}
	defer v2.Shutdown(5 * time.Second)
	if err := client.StartOrchestration(ctx, newPipe, "Pipeline", "invoices"); err != nil {
		return err
	}
	for _, id := range []string{oldPipe, newPipe} {
		if err := client.RaiseEvent(ctx, id, "go", nil); err != nil {
			return err
		}
	}
	if err := client.RaiseEvent(ctx, cycler, "tick", nil); err != nil { // continue-as-new onto v2
		return err
	}
	for _, id := range []string{oldPipe, newPipe, cycler} {
		res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
		if err != nil {
			return err
		}
		info, err := client.GetInstanceInfo(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: version %s, execution %d: %s %s\n", id[len(base)+1:], info.OrchestrationVersion,
			info.CurrentExecutionID, res.Status, res.Output.Raw())
	}
	return nil
}
