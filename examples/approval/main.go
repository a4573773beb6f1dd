// Command approval shows human approval with a deadline: the orchestration publishes the
// custom status "waiting for approval", then races an external event against a durable
// timer. The program starts two instances, approves the first through the client (after
// seeing its custom status with WaitForStatusChange) and lets the second time out.
//
//	go run ./examples/approval          # uses ./approval.db (or -db PATH)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// Request is the orchestration's input.
type Request struct {
	Item      string `json:"item"`
	TimeoutMs int64  `json:"timeout_ms"`
}

// Approval waits for an "approval" event or the deadline, whichever comes first. The
// loser of the race is cancelled, so an approved request leaves no timer behind to act on.
func Approval(ctx *yield.Ctx, input yield.Value) (any, error) {
	var req Request
	if err := input.Decode(&req); err != nil {
		return nil, err
	}
	// Clients see the status as soon as this turn commits, i.e. once the wait is recorded.
	ctx.SetCustomStatus("waiting for approval")
	idx, v, err := yield.AwaitRace(ctx,
		ctx.WaitForEvent("approval"),
		ctx.ScheduleTimer(time.Duration(req.TimeoutMs)*time.Millisecond))
	if err != nil {
		return nil, err
	}
	if idx == 1 {
		ctx.SetCustomStatus("timed out")
		return fmt.Sprintf("%s rejected: no approval within %dms", req.Item, req.TimeoutMs), nil
	}
	approver := v.Field("by").String()
	ctx.SetCustomStatus("approved by " + approver)
	return req.Item + " approved by " + approver, nil
}

func main() {
	dbPath := flag.String("db", "approval.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "approval:", err)
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
	if err := rt.RegisterOrchestration("Approval", Approval); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	// A fresh id per run, so the program can run again on the same database file.
	base := fmt.Sprintf("approval-%d", time.Now().UnixNano())
	approved, expired := base+"-laptop", base+"-yacht"
	// The approved request gets a long deadline so that the event always wins its race;
	// the other one a short deadline that nobody meets.
	if err := client.StartOrchestration(ctx, approved, "Approval", Request{Item: "laptop", TimeoutMs: 60_000}); err != nil {
		return err
	}
	if err := client.StartOrchestration(ctx, expired, "Approval", Request{Item: "yacht", TimeoutMs: 300}); err != nil {
		return err
	}

	// Wait until the first instance says it is waiting (status version 0 means "none seen
	// yet"), as an approver's UI would, then approve it.
	st, err := client.WaitForStatusChange(ctx, approved, 0, 20*time.Millisecond, 10*time.Second)
	if err != nil {
		return err
	}
	if st.CustomStatus == nil {
		return fmt.Errorf("%s: no custom status (%s)", approved, st.Status)
	}
	fmt.Fprintf(out, "%s: custom status %q (version %d)\n", approved, *st.CustomStatus, st.CustomStatusVersion)
	if err := client.RaiseEvent(ctx, approved, "approval", map[string]string{"by": "alice"}); err != nil {
		return err
	}

	for _, id := range []string{approved, expired} {
		res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
		if err != nil {
			return err
		}
		outcome, err := duroxide.OutputAs[string](res)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %s; custom status %q\n", id, outcome, *res.CustomStatus)
	}
	return nil
}
