// Command retry shows activity retry policies: a flaky activity that fails twice and then
// succeeds under a fixed back-off, an attempt that runs past its per-attempt timeout (a
// timed-out attempt is cancelled and not retried), and an error marked
// duroxide.NonRetryable that stops the policy at once. The program counts the attempts
// each activity saw.
//
//	go run ./examples/retry             # uses ./retry.db (or -db PATH)
//
// The runtime logs each failed attempt that it retries as a warning on stderr;
// DUROXIDE_LOG=error hides them.
package main

import (
	"context"
	"errors"
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

// attempts counts the calls of each activity per instance. Workers run activities in
// parallel, so the map needs a mutex; keying by instance keeps instances apart.
type attempts struct {
	mu sync.Mutex
	n  map[string]int
}

func (a *attempts) next(ctx *duroxide.ActivityContext) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := ctx.InstanceID() + "/" + ctx.ActivityName()
	a.n[k]++
	return a.n[k]
}

func (a *attempts) get(instance, activity string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[instance+"/"+activity]
}

// Flaky fails its first two attempts, like a service that is briefly unavailable.
func (a *attempts) Flaky(ctx *duroxide.ActivityContext, _ yield.Value) (any, error) {
	n := a.next(ctx)
	if n < 3 {
		return nil, fmt.Errorf("service unavailable (attempt %d)", n)
	}
	return fmt.Sprintf("charged on attempt %d", n), nil
}

// Hang never finishes by itself: it returns when the attempt's timeout cancels it.
func (a *attempts) Hang(ctx *duroxide.ActivityContext, _ yield.Value) (any, error) {
	a.next(ctx)
	<-ctx.Context().Done()
	return nil, ctx.Context().Err()
}

// Reject fails in a way no retry can fix, and says so with NonRetryable.
func (a *attempts) Reject(ctx *duroxide.ActivityContext, _ yield.Value) (any, error) {
	a.next(ctx)
	return nil, duroxide.NonRetryable(errors.New("card declined"))
}

// Outcome is what the orchestration reports for one activity.
type Outcome struct {
	Activity string `json:"activity"`
	Result   string `json:"result,omitempty"`
	Error    string `json:"error,omitempty"`
	Kind     string `json:"kind,omitempty"`
}

// Payments calls the three activities in parallel, each under its own retry policy.
// Every attempt and back-off wait is a step in history, so a crash mid-way resumes the
// policy where it was rather than starting it again.
func Payments(ctx *yield.Ctx, _ yield.Value) (any, error) {
	names := []string{"Flaky", "Hang", "Reject"}
	results, err := yield.AwaitAll(ctx,
		// Fixed back-off: 50 ms between attempts (the default for fixed is 1 s).
		ctx.ScheduleActivityWithRetry("Flaky", nil, yield.RetryPolicy{
			MaxAttempts: 5, Backoff: yield.BackoffFixed, BaseDelay: 50 * time.Millisecond}),
		ctx.ScheduleActivityWithRetry("Hang", nil, yield.RetryPolicy{
			MaxAttempts: 5, Timeout: 200 * time.Millisecond}),
		ctx.ScheduleActivityWithRetry("Reject", nil, yield.RetryPolicy{
			MaxAttempts: 5, Backoff: yield.BackoffNone}),
	)
	if err != nil {
		return nil, err
	}
	outcomes := make([]Outcome, len(results))
	for i, r := range results {
		o := Outcome{Activity: names[i]}
		var te *yield.TaskError
		switch {
		case errors.As(r.Err, &te):
			o.Error, o.Kind = te.Message, string(te.Kind)
		case r.Err != nil:
			return nil, r.Err
		default:
			o.Result = r.Value.String()
		}
		outcomes[i] = o
	}
	return outcomes, nil
}

func main() {
	dbPath := flag.String("db", "retry.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "retry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	store, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer store.Close()

	// Three workers, so that Hang holding one does not delay the others.
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond, WorkerConcurrency: 3})
	if err != nil {
		return err
	}
	counter := &attempts{n: map[string]int{}}
	activities := []struct {
		name string
		fn   duroxide.Activity
	}{{"Flaky", counter.Flaky}, {"Hang", counter.Hang}, {"Reject", counter.Reject}}
	for _, a := range activities {
		if err := rt.RegisterActivity(a.name, a.fn); err != nil {
			return err
		}
	}
	if err := rt.RegisterOrchestration("Payments", Payments); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	// A fresh id per run, so the program can run again on the same database file.
	id := fmt.Sprintf("retry-%d", time.Now().UnixNano())
	if err := client.StartOrchestration(ctx, id, "Payments", nil); err != nil {
		return err
	}
	res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
	if err != nil {
		return err
	}
	outcomes, err := duroxide.OutputAs[[]Outcome](res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s completed\n", id)
	for _, o := range outcomes {
		n := counter.get(id, o.Activity)
		if o.Error != "" {
			fmt.Fprintf(out, "  %-6s %d attempt(s), failed (%s): %s\n", o.Activity, n, o.Kind, o.Error)
		} else {
			fmt.Fprintf(out, "  %-6s %d attempt(s), ok: %s\n", o.Activity, n, o.Result)
		}
	}
	return nil
}
