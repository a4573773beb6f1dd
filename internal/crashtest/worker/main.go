// Command worker runs the crash harness's workload (package crashtest) on a store until
// it is killed. The harness (crash_test.go) builds it, starts it, kills it with SIGKILL
// at random moments and starts it again.
//
//	worker -store sqlite -db /tmp/x/crash.db -markers /tmp/x/markers -seed 7
//	worker -store postgres -pg-url postgres://... -schema crash_1 -markers /tmp/x/markers
//
// It prints "ready" on stdout once the runtime runs, and stops gracefully on SIGINT or
// SIGTERM (the harness never asks: it kills).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/crashtest"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
)

type config struct {
	store       string
	db          string
	pgURL       string
	schema      string
	markers     string
	seed        uint64
	jitter      time.Duration
	concurrency int
	maxDelivery int
}

func main() {
	var c config
	flag.StringVar(&c.store, "store", "sqlite", "store: sqlite or postgres")
	flag.StringVar(&c.db, "db", "", "SQLite database file (-store sqlite)")
	flag.StringVar(&c.pgURL, "pg-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL (-store postgres)")
	flag.StringVar(&c.schema, "schema", "public", "PostgreSQL schema (-store postgres)")
	flag.StringVar(&c.markers, "markers", "", "file that records every activity execution (required)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the activities' random delays")
	flag.DurationVar(&c.jitter, "jitter", 20*time.Millisecond, "activities sleep a random 0 to this long")
	flag.IntVar(&c.concurrency, "concurrency", 8, "orchestration and worker concurrency")
	flag.IntVar(&c.maxDelivery, "max-delivery", 0, "RuntimeOptions.MaxDeliveryAttempts (0: the default)")
	flag.Parse()
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.markers == "" {
		return errors.New("-markers is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, closeStore, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer closeStore()
	markers, err := crashtest.OpenMarkers(c.markers, fmt.Sprintf("%d-%d", os.Getpid(), time.Now().UnixNano()))
	if err != nil {
		return err
	}
	defer markers.Close()

	logger := zerolog.New(os.Stderr).Level(zerolog.WarnLevel).With().Timestamp().Int("pid", os.Getpid()).Logger()
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{
		OrchestrationConcurrency: c.concurrency,
		WorkerConcurrency:        c.concurrency,
		DispatcherPollInterval:   20 * time.Millisecond,
		// Short locks: what a killed process held is taken over soon after.
		OrchestratorLockTimeout: time.Second,
		WorkerLockTimeout:       time.Second,
		MaxDeliveryAttempts:     c.maxDelivery,
		Logger:                  &logger,
	})
	if err != nil {
		return fmt.Errorf("new runtime: %w", err)
	}
	if err := crashtest.Register(rt, markers, crashtest.NewJitter(c.seed, c.jitter)); err != nil {
		return err
	}
	// The runtime gets its own context: the signal context is for Shutdown below.
	if err := rt.Start(context.Background()); err != nil {
		return fmt.Errorf("start runtime: %w", err)
	}
	fmt.Println("ready")
	<-ctx.Done()
	if err := rt.Shutdown(10 * time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func openStore(ctx context.Context, c config) (history.Store, func(), error) {
	switch c.store {
	case "sqlite":
		if c.db == "" {
			return nil, nil, errors.New("-db is required with -store sqlite")
		}
		// The default durability, synchronous=FULL: a kill must not lose a commit.
		s, err := sqlitestore.Open(c.db)
		if err != nil {
			return nil, nil, fmt.Errorf("open %s: %w", c.db, err)
		}
		return s, func() { _ = s.Close() }, nil
	case "postgres":
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		s, err := pgstore.ConnectWithSchema(cctx, c.pgURL, c.schema)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to schema %s: %w", c.schema, err)
		}
		return s, func() { _ = s.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("-store %q: want sqlite or postgres", c.store)
	}
}
