// Command durobench measures duroxide-go on a store: it runs a workload (tree, fanout,
// sequence, latency or park), sized by flags, on a fresh database per run, and prints one
// summary line per run (key=value text, or CSV with -format csv) and, with -repeat, the
// median of the runs. See docs/performance.md.
//
//	durobench tree -store sqlite -sync normal -runs 10 -depth 2 -fanout 2 -leaffanout 5 -activities 10
//	durobench fanout -store postgres -pg-url $DATABASE_URL -instances 20 -tasks 5 -delay 10ms
//	durobench latency -store sqlite-mem -n 500 -repeat 3 -format csv
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
