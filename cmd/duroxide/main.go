// Command duroxide inspects and drives duroxide orchestration instances in a store:
// start, status, wait, raise, enqueue, cancel, list, history, tree, delete, prune,
// metrics and kv. See docs/cli.md, or run "duroxide help".
//
//	duroxide -db app.db start Greet -input '"world"'
//	duroxide -pg postgres://localhost/app wait order-1 -timeout 30s
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/duroxide-go/duroxide/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// The first signal cancels the command; once it has, a second one kills the
	// process as usual.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.RunContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
