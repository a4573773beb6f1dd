// Command saga shows compensation: booking a trip reserves a flight, a hotel and a car;
// when a step fails, the steps already done are undone in reverse order, each
// compensation retried durably until it succeeds. Two trips run: one books everything,
// the other finds no car and is rolled back.
//
//	go run ./examples/saga          # uses ./saga.db (or -db PATH)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// Trip is the orchestration's input.
type Trip struct {
	Traveler string `json:"traveler"`
	City     string `json:"city"`
}

// step is one reservation and the activity that undoes it.
type step struct{ do, undo string }

var steps = []step{
	{"ReserveFlight", "CancelFlight"},
	{"ReserveHotel", "CancelHotel"},
	{"ReserveCar", "CancelCar"},
}

// compensation is retried until it succeeds: an undo must not be given up on.
var compensation = yield.RetryPolicy{MaxAttempts: 10, Backoff: yield.BackoffExponential, BaseDelay: 10 * time.Millisecond}

// BookTrip runs the steps in order; on a failure it runs the undo of every completed step,
// newest first, and reports the failure.
func BookTrip(ctx *yield.Ctx, input yield.Value) (any, error) {
	var done []step
	var confirmations []string
	for _, s := range steps {
		conf, err := ctx.Yield(ctx.ScheduleActivity(s.do, input))
		if err != nil {
			for i := len(done) - 1; i >= 0; i-- {
				if _, cerr := ctx.Yield(ctx.ScheduleActivityWithRetry(done[i].undo, input, compensation)); cerr != nil {
					return nil, fmt.Errorf("compensating %s failed: %w (after %v)", done[i].do, cerr, err)
				}
			}
			return map[string]any{"booked": false, "reason": err.Error()}, nil
		}
		done = append(done, s)
		confirmations = append(confirmations, conf.String())
	}
	return map[string]any{"booked": true, "confirmations": confirmations}, nil
}

// agency is a fake travel agency: it logs every call and has no cars in Reykjavik.
type agency struct {
	mu  sync.Mutex
	log []string
}

func (a *agency) activity(name string) duroxide.Activity {
	return func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		var t Trip
		if err := in.Decode(&t); err != nil {
			return nil, duroxide.NonRetryable(err)
		}
		a.mu.Lock()
		a.log = append(a.log, t.Traveler+": "+name)
		a.mu.Unlock()
		if name == "ReserveCar" && t.City == "Reykjavik" {
			return nil, errors.New("no cars available in " + t.City)
		}
		return strings.ToLower(strings.TrimPrefix(name, "Reserve")) + "-" + strings.ToLower(t.Traveler), nil
	}
}

func main() {
	dbPath := flag.String("db", "saga.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "saga:", err)
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
	ag := &agency{}
	for _, s := range steps {
		for _, name := range []string{s.do, s.undo} {
			if err := rt.RegisterActivity(name, ag.activity(name)); err != nil {
				return err
			}
		}
	}
	if err := rt.RegisterOrchestration("BookTrip", BookTrip); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	base := fmt.Sprintf("trip-%d", time.Now().UnixNano())
	trips := []Trip{{"Ada", "Lisbon"}, {"Bob", "Reykjavik"}}
	for _, trip := range trips {
		id := base + "-" + trip.Traveler
		if err := client.StartOrchestration(ctx, id, "BookTrip", trip); err != nil {
			return err
		}
		res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
		if err != nil {
			return err
		}
		if res.Status != duroxide.StatusCompleted {
			return fmt.Errorf("%s: %s: %s", id, res.Status, res.Error)
		}
		fmt.Fprintf(out, "%s (%s): %s\n", trip.Traveler, trip.City, res.Output.Raw())
	}
	ag.mu.Lock()
	defer ag.mu.Unlock()
	fmt.Fprintf(out, "calls: %s\n", strings.Join(ag.log, ", "))
	return nil
}
