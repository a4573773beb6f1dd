// Command duroxide inspects and drives duroxide orchestration instances in a store:
// start, status, wait, raise, enqueue, cancel, list, history, tree, delete, prune,
// metrics, kv, serve (the web dashboard, with /metrics) and replay. See docs/cli.md,
// or run "duroxide help".
//
//	duroxide -db app.db start Greet -input '"world"'
//	duroxide -pg postgres://localhost/app wait order-1 -timeout 30s
//	duroxide -db app.db serve -addr 127.0.0.1:8080
//
// This binary has no orchestration code, so its replay command only explains how to
// build one that has (package duroxidecli).
//
// It is a module of its own (github.com/duroxide-go/duroxide/cmd/duroxide), so that
// the Prometheus client it links stays out of the core module's dependencies.
package main

import "github.com/duroxide-go/duroxide/cmd/duroxide/duroxidecli"

func main() {
	duroxidecli.Main(nil)
}
