// Command hello runs a greeting workflow on an embedded SQLite file and prints its result.
//
//	go run ./examples/hello            # uses ./hello.db (or -db PATH)
//
// Run it twice: the second run finds the first instance already completed in the file and
// starts a new one, which shows that state survives the process.
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

// Greet is the activity: ordinary Go that may do I/O.
func Greet(ctx *duroxide.ActivityContext, input yield.Value) (any, error) {
	ctx.TraceInfo("greeting " + input.String())
	return "Hello, " + input.String() + "!", nil
}

// HelloWorkflow is the orchestration: it yields durable steps and is replayed after a
// crash or restart, resuming where it was.
func HelloWorkflow(ctx *yield.Ctx, input yield.Value) (any, error) {
	ctx.TraceInfo("starting")
	first, err := ctx.Yield(ctx.ScheduleActivity("Greet", input))
	if err != nil {
		return nil, err
	}
	if _, err := ctx.Yield(ctx.ScheduleTimer(100 * time.Millisecond)); err != nil {
		return nil, err
	}
	second, err := ctx.Yield(ctx.ScheduleActivity("Greet", "again"))
	if err != nil {
		return nil, err
	}
	return []yield.Value{first, second}, nil
}

func main() {
	dbPath := flag.String("db", "hello.db", "SQLite database file")
	name := flag.String("name", "world", "who to greet")
	flag.Parse()
	if err := run(*dbPath, *name, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

func run(dbPath, name string, out io.Writer) error {
	store, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer store.Close()

	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := rt.RegisterActivity("Greet", Greet); err != nil {
		return err
	}
	if err := rt.RegisterOrchestration("HelloWorkflow", HelloWorkflow); err != nil {
		return err
	}
	ctx := context.Background()
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	id := fmt.Sprintf("hello-%d", time.Now().UnixNano())
	if err := client.StartOrchestration(ctx, id, "HelloWorkflow", name); err != nil {
		return err
	}
	res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
	if err != nil {
		return err
	}
	if res.Status != duroxide.StatusCompleted {
		return fmt.Errorf("instance %s %s: %s", id, res.Status, res.Error)
	}
	greetings, err := duroxide.OutputAs[[]string](res)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "instance %s completed: %q\n", id, greetings)
	return nil
}
