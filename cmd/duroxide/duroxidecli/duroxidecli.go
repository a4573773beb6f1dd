// Package duroxidecli builds a duroxide command-line binary: the stock one
// (cmd/duroxide) and a user's own, which adds their orchestration code so that
// "duroxide replay" can run it over stored histories.
//
// A binary that knows your orchestrations is a main of a few lines:
//
//	package main
//
//	import (
//		"github.com/duroxide-go/duroxide/cmd/duroxide/duroxidecli"
//		"github.com/duroxide-go/duroxide/yield"
//
//		"example.com/app/orders"
//	)
//
//	func main() {
//		duroxidecli.Main(map[string]yield.Orchestration{
//			"OrderFlow":       orders.OrderFlow,   // every version
//			"OrderFlow@2.0.0": orders.OrderFlowV2, // this version
//		})
//	}
//
// It has every command of the stock binary (see docs/cli.md), and "duroxide serve"
// answers /metrics in the Prometheus format (store gauges, through promexporter).
package duroxidecli

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/internal/cli"
	"github.com/duroxide-go/duroxide/promexporter"
	"github.com/duroxide-go/duroxide/yield"
)

// Main runs the duroxide command line on os.Args with orchestrations registered for
// replay (nil for none: replay then explains how to build a binary that has them), and
// exits the process with the command's exit code. SIGINT and SIGTERM cancel the
// command (a wait, a bulk operation, serve, which shuts down gracefully); a second
// signal kills the process.
func Main(orchestrations map[string]yield.Orchestration) {
	Setup(orchestrations)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := cli.RunContext(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Setup registers orchestrations for replay and the /metrics handler of serve; Main
// calls it. It is exported for programs that run the command line their own way.
func Setup(orchestrations map[string]yield.Orchestration) {
	cli.RegisterOrchestrations(orchestrations)
	cli.MetricsHandler = MetricsHandler
}

// MetricsHandler serves the store's gauges (queue depths, instances by status, totals)
// read through c at every scrape, in the Prometheus text format. The CLI runs no
// runtime, so there are no runtime counters.
func MetricsHandler(c *duroxide.Client) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(promexporter.NewCollector(promexporter.Options{Client: c}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
