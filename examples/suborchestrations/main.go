// Command suborchestrations shows an orchestration composing others: a parent starts
// child orchestrations with automatic ids and with an explicit id, runs two children in
// parallel, handles a child that fails, and fires a detached orchestration that lives on
// its own. Each child reports its instance id so the program can print it.
//
//	go run ./examples/suborchestrations # uses ./suborchestrations.db (or -db PATH)
//
// The runtime logs a warning on stderr for the child that fails on purpose;
// DUROXIDE_LOG=error hides it.
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

// Square is the activity the children call.
func Square(ctx *duroxide.ActivityContext, input yield.Value) (any, error) {
	var n int
	if err := input.Decode(&n); err != nil {
		return nil, err
	}
	return n * n, nil
}

// ChildResult is a child's output.
type ChildResult struct {
	ID     string `json:"id"`
	Input  int    `json:"input"`
	Square int    `json:"square"`
}

// Child squares its input through an activity; a negative input fails it.
func Child(ctx *yield.Ctx, input yield.Value) (any, error) {
	var n int
	if err := input.Decode(&n); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("negative input %d", n)
	}
	sq, err := yield.Await[int](ctx, ctx.ScheduleActivity("Square", n))
	if err != nil {
		return nil, err
	}
	return ChildResult{ID: ctx.InstanceID(), Input: n, Square: sq}, nil
}

// Audit is started detached: the parent does not wait for it, and it has no parent.
func Audit(ctx *yield.Ctx, input yield.Value) (any, error) {
	return "audit of " + input.String() + " recorded", nil
}

// Report is the parent's output.
type Report struct {
	Auto        ChildResult   `json:"auto"`
	Explicit    ChildResult   `json:"explicit"`
	Parallel    []ChildResult `json:"parallel"`
	ChildFailed string        `json:"child_failed"`
	Detached    string        `json:"detached"`
}

// Parent composes the children. Every child start and result is recorded in the parent's
// history, so a replay does not start them again.
func Parent(ctx *yield.Ctx, _ yield.Value) (any, error) {
	var r Report
	var err error
	// An automatic id, <parent>::sub::<event id>, is the same on every replay.
	if r.Auto, err = yield.Await[ChildResult](ctx, ctx.ScheduleSubOrchestration("Child", 2)); err != nil {
		return nil, err
	}
	// An explicit id lets other code find the child (derive it from the parent's id so
	// that it is unique and deterministic).
	explicitID := ctx.InstanceID() + "-explicit"
	if r.Explicit, err = yield.Await[ChildResult](ctx, ctx.ScheduleSubOrchestrationWithID("Child", explicitID, 3)); err != nil {
		return nil, err
	}
	// Two children at once; All gives one result per child, in argument order.
	results, err := yield.AwaitAll(ctx, ctx.ScheduleSubOrchestration("Child", 4), ctx.ScheduleSubOrchestration("Child", 5))
	if err != nil {
		return nil, err
	}
	for _, res := range results {
		var c ChildResult
		if res.Err == nil {
			res.Err = res.Value.Decode(&c)
		}
		if res.Err != nil {
			return nil, res.Err
		}
		r.Parallel = append(r.Parallel, c)
	}
	// A failed child is an error the parent may handle instead of failing too.
	_, err = ctx.Yield(ctx.ScheduleSubOrchestration("Child", -1))
	var te *yield.TaskError
	if !errors.As(err, &te) {
		return nil, fmt.Errorf("want the child to fail, got %v", err)
	}
	r.ChildFailed = fmt.Sprintf("%s error: %s", te.Kind, te.Message)
	// Fire and forget: the start is recorded, and the yield resolves at once to null.
	r.Detached = ctx.InstanceID() + "-audit"
	if _, err := ctx.Yield(ctx.StartOrchestration("Audit", r.Detached, ctx.InstanceID())); err != nil {
		return nil, err
	}
	return r, nil
}

func main() {
	dbPath := flag.String("db", "suborchestrations.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "suborchestrations:", err)
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
	orchestrations := []struct {
		name string
		fn   yield.Orchestration
	}{{"Parent", Parent}, {"Child", Child}, {"Audit", Audit}}
	for _, o := range orchestrations {
		if err := rt.RegisterOrchestration(o.name, o.fn); err != nil {
			return err
		}
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	// A fresh id per run, so the program can run again on the same database file.
	id := fmt.Sprintf("parent-%d", time.Now().UnixNano())
	if err := client.StartOrchestration(ctx, id, "Parent", nil); err != nil {
		return err
	}
	res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
	if err != nil {
		return err
	}
	r, err := duroxide.OutputAs[Report](res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s completed\n", id)
	child := func(label string, c ChildResult) {
		fmt.Fprintf(out, "  %-9s %s: Child(%d) = %d\n", label, c.ID, c.Input, c.Square)
	}
	child("automatic", r.Auto)
	child("explicit", r.Explicit)
	for _, c := range r.Parallel {
		child("parallel", c)
	}
	fmt.Fprintf(out, "  failed    %s\n", r.ChildFailed)

	// The detached instance runs on its own; the client waits for it like any other.
	audit, err := client.WaitForOrchestration(ctx, r.Detached, 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  detached  %s: %s %s\n", r.Detached, audit.Status, audit.Output.Raw())
	return nil
}
