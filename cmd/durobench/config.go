package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// config holds every flag of a durobench invocation.
type config struct {
	workload string

	store       string // sqlite, sqlite-mem, postgres
	pgURL       string
	sync        string // full or normal (file SQLite)
	dir         string // where file databases are created
	orchConc    int
	workConc    int
	cache       int
	poll        time.Duration
	repeat      int
	format      string
	progress    bool
	timeout     time.Duration
	crossProc   bool
	storeStats  bool
	cpuProfile  string
	memProfile  string
	pgMaxConns  int
	progressInt time.Duration

	// tree (the go-workflows bench shape)
	runs, depth, fanout, leafFanout, activities, resultSize int
	// fanout
	instances, tasks, total int
	delay                   time.Duration
	// sequence, latency, park
	n int
}

const usageText = `usage: durobench <workload> [flags]

workloads:
  tree      roots start -fanout children per level to -depth, the last level starts
            -leaffanout leaves, each leaf runs -activities parallel activities returning
            -resultsize bytes; -runs roots at once (go-workflows' bench shape)
  fanout    -total orchestrations, -instances in flight, each running -tasks parallel
            activities that sleep -delay
  sequence  one orchestration running -n activities one after another (replay cost)
  latency   start-to-completion of a one-activity orchestration, -n samples one at a
            time: p50/p99 (-cross-process: the client uses its own store handle)
  park      -n orchestrations parked on WaitForEvent: RSS after GC, then every event
            raised and every instance completed

flags:
`

// parseConfig reads the workload name (first or last argument) and the flags.
func parseConfig(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("durobench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.store, "store", "sqlite", "store: sqlite (a file), sqlite-mem, postgres")
	fs.StringVar(&c.pgURL, "pg-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL for -store postgres (default $DATABASE_URL); each run uses a fresh schema, dropped afterwards")
	fs.IntVar(&c.pgMaxConns, "pg-max-conns", 0, "PostgreSQL pool size (0: pgstore.DefaultMaxConns)")
	fs.StringVar(&c.sync, "sync", "full", "file SQLite durability: full (synchronous=FULL) or normal (synchronous=NORMAL)")
	fs.StringVar(&c.dir, "dir", os.TempDir(), "folder for file databases (each run creates and removes its own)")
	fs.IntVar(&c.orchConc, "orch-concurrency", 0, "RuntimeOptions.OrchestrationConcurrency (0: the runtime default, 2)")
	fs.IntVar(&c.workConc, "worker-concurrency", 0, "RuntimeOptions.WorkerConcurrency (0: the runtime default, 2; fanout: instances×tasks)")
	fs.IntVar(&c.cache, "cache", 1000, "instance cache size (RuntimeOptions.InstanceCacheSize); -1 or 0 turns it off")
	fs.DurationVar(&c.poll, "poll", 0, "RuntimeOptions.DispatcherPollInterval (0: the runtime default, 100ms)")
	fs.IntVar(&c.repeat, "repeat", 1, "runs of the workload, each on a fresh database; more than one also prints the median")
	fs.StringVar(&c.format, "format", "text", "output: text (key=value lines) or csv")
	fs.BoolVar(&c.progress, "progress", true, "print a progress line on stderr while running")
	fs.DurationVar(&c.progressInt, "progress-interval", time.Second, "time between progress lines")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "limit for one run")
	fs.BoolVar(&c.storeStats, "store-stats", false, "print, after each run, the runtime's store calls: count, calls that found work, mean and max time")
	fs.BoolVar(&c.crossProc, "cross-process", false, "latency: the client works on its own store handle, as another process would (file SQLite, postgres)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of all runs to this file")
	fs.StringVar(&c.memProfile, "memprofile", "", "write an allocation profile (after all runs) to this file")

	fs.IntVar(&c.runs, "runs", 1, "tree: root orchestrations started at once")
	fs.IntVar(&c.depth, "depth", 2, "tree: levels of inner nodes below the root")
	fs.IntVar(&c.fanout, "fanout", 2, "tree: children per inner node")
	fs.IntVar(&c.leafFanout, "leaffanout", 2, "tree: leaves per node of the last level")
	fs.IntVar(&c.activities, "activities", 2, "tree: activities per leaf (run in parallel)")
	fs.IntVar(&c.resultSize, "resultsize", 100, "tree: bytes each activity returns")

	fs.IntVar(&c.instances, "instances", 20, "fanout: orchestrations in flight")
	fs.IntVar(&c.tasks, "tasks", 5, "fanout: parallel activities per orchestration")
	fs.DurationVar(&c.delay, "delay", 10*time.Millisecond, "fanout: how long each activity sleeps")
	fs.IntVar(&c.total, "total", 0, "fanout: orchestrations run in all (0: 10×instances)")

	fs.IntVar(&c.n, "n", 0, "sequence: activities (default 100); latency: samples (default 200); park: instances (default 10000)")

	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		c.workload, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if c.workload == "" && fs.NArg() > 0 {
		c.workload = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.workload == "" {
		fs.Usage()
		return nil, errors.New("no workload named")
	}
	return c, c.check()
}

// check validates the flags and fills the workload defaults.
func (c *config) check() error {
	if _, ok := workloads[c.workload]; !ok {
		return fmt.Errorf("unknown workload %q (tree, fanout, sequence, latency, park)", c.workload)
	}
	switch c.store {
	case "sqlite", "sqlite-mem":
	case "postgres":
		if c.pgURL == "" {
			return errors.New("-store postgres needs -pg-url (or DATABASE_URL)")
		}
	default:
		return fmt.Errorf("unknown store %q (sqlite, sqlite-mem, postgres)", c.store)
	}
	c.sync = strings.ToLower(c.sync)
	if c.sync != "full" && c.sync != "normal" {
		return fmt.Errorf("-sync %q: want full or normal", c.sync)
	}
	if c.format != "text" && c.format != "csv" {
		return fmt.Errorf("-format %q: want text or csv", c.format)
	}
	if c.repeat < 1 {
		return errors.New("-repeat must be at least 1")
	}
	if c.crossProc && c.store == "sqlite-mem" {
		return errors.New("-cross-process needs a database two handles can share: -store sqlite or postgres")
	}
	if c.cache == 0 {
		c.cache = -1
	}
	for name, v := range map[string]int{"runs": c.runs, "fanout": c.fanout, "leaffanout": c.leafFanout,
		"instances": c.instances, "tasks": c.tasks} {
		if v < 1 {
			return fmt.Errorf("-%s must be at least 1", name)
		}
	}
	if c.depth < 0 || c.activities < 0 || c.resultSize < 0 || c.n < 0 || c.total < 0 {
		return errors.New("-depth, -activities, -resultsize, -n and -total cannot be negative")
	}
	if c.total == 0 {
		c.total = 10 * c.instances
	}
	if c.n == 0 {
		c.n = map[string]int{"sequence": 100, "latency": 200, "park": 10000}[c.workload]
	}
	if c.n == 0 && c.workload != "tree" && c.workload != "fanout" {
		return errors.New("-n must be at least 1")
	}
	if c.workConc == 0 && c.workload == "fanout" {
		c.workConc = c.instances * c.tasks
	}
	if c.orchConc == 0 {
		c.orchConc = 2
	}
	if c.workConc == 0 {
		c.workConc = 2
	}
	if c.poll == 0 {
		c.poll = 100 * time.Millisecond
	}
	return nil
}
