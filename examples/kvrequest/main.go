// Command kvrequest shows request/response over the KV store: a long-running service
// orchestration publishes its state under the key "status", takes requests as external
// events, and writes each answer under "response:<op id>", where the client reads it with
// WaitForKVValue. No polling of the history, no extra infrastructure: the instance is the
// service.
//
//	go run ./examples/kvrequest          # uses ./kvrequest.db (or -db PATH)
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

// Request is one operation sent to the service.
type Request struct {
	OpID    string `json:"op_id"`
	Command string `json:"command"`
}

// Service serves the number of requests given as input, then shuts down.
func Service(ctx *yield.Ctx, input yield.Value) (any, error) {
	var n int
	if err := input.Decode(&n); err != nil {
		return nil, err
	}
	ctx.SetKVValue("status", "ready")
	for range n {
		req, err := yield.Await[Request](ctx, ctx.WaitForEvent("request"))
		if err != nil {
			return nil, err
		}
		ctx.SetKVValue("status", "processing "+req.OpID)
		answer, err := yield.Await[string](ctx, ctx.ScheduleActivity("Reverse", req.Command))
		if err != nil {
			return nil, err
		}
		ctx.SetKVValue("response:"+req.OpID, answer)
		ctx.SetKVValue("status", "ready")
	}
	ctx.SetKVValue("status", "shutdown")
	return fmt.Sprintf("served %d requests", n), nil
}

func reverse(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
	r := []rune(in.String())
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r), nil
}

func main() {
	dbPath := flag.String("db", "kvrequest.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kvrequest:", err)
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
	if err := rt.RegisterActivity("Reverse", reverse); err != nil {
		return err
	}
	if err := rt.RegisterOrchestration("Service", Service); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	id := fmt.Sprintf("service-%d", time.Now().UnixNano())
	commands := []string{"hello", "world", "rust"}
	if err := client.StartOrchestration(ctx, id, "Service", len(commands)); err != nil {
		return err
	}
	status, err := client.WaitForKVValue(ctx, id, "status", 30*time.Second)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "service status: %s\n", status)
	for i, cmd := range commands {
		op := fmt.Sprintf("op-%d", i+1)
		if err := client.RaiseEvent(ctx, id, "request", Request{OpID: op, Command: cmd}); err != nil {
			return err
		}
		answer, err := client.WaitForKVValue(ctx, id, "response:"+op, 30*time.Second)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %q -> %q\n", op, cmd, answer)
	}
	res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
	if err != nil {
		return err
	}
	status, _, err = client.GetKVValue(ctx, id, "status")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "result: %s; status %s\n", res.Output.Raw(), status)
	return nil
}
