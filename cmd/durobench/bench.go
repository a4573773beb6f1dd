package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
)

// workload is one benchmark shape: its parameters for the summary, the code it
// registers, and the measured part of a run.
type workload struct {
	params   func(c *config) []kv
	register func(rt *duroxide.Runtime, c *config) error
	run      func(ctx context.Context, b *bench) (result, error)
}

var workloads = map[string]workload{
	"tree":     treeWorkload,
	"fanout":   fanoutWorkload,
	"sequence": sequenceWorkload,
	"latency":  latencyWorkload,
	"park":     parkWorkload,
}

// bench is what a workload's run works with.
type bench struct {
	cfg    *config
	rt     *duroxide.Runtime
	client *duroxide.Client
	db     *benchDB
}

// result is what one run measured. Zero fields do not apply to the workload.
type result struct {
	elapsed        time.Duration
	orchestrations int64 // executions completed
	activities     int64 // activities completed
	perActivity    time.Duration
	p50, p99       time.Duration
	rssMB, heapMB  float64
	cpu            time.Duration // process CPU time (user + system) during the run
}

func (r result) orchPerSec() float64 { return rate(r.orchestrations, r.elapsed) }
func (r result) actPerSec() float64  { return rate(r.activities, r.elapsed) }

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// run executes the invocation and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseConfig(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "durobench:", err)
		return 2
	}
	if err := runAll(ctx, c, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "durobench:", err)
		return 1
	}
	return 0
}

// runAll runs the workload -repeat times, printing each run and the median.
func runAll(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	out := newReporter(c, stdout)
	var results []result
	var durability string
	for i := 1; i <= c.repeat; i++ {
		r, dur, err := runOnce(ctx, c, i, stderr)
		if err != nil {
			return fmt.Errorf("%s run %d: %w", c.workload, i, err)
		}
		durability = dur
		results = append(results, r)
		out.line(fmt.Sprintf("%d/%d", i, c.repeat), durability, r)
	}
	if c.repeat > 1 {
		out.line("median", durability, median(results))
	}
	if c.memProfile != "" {
		f, err := os.Create(c.memProfile)
		if err != nil {
			return fmt.Errorf("memory profile: %w", err)
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return fmt.Errorf("memory profile: %w", err)
		}
	}
	return out.err
}

// runOnce runs the workload once on a fresh database and runtime.
func runOnce(ctx context.Context, c *config, index int, stderr io.Writer) (res result, durability string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	db, err := openDB(ctx, c, index)
	if err != nil {
		return result{}, "", fmt.Errorf("open %s: %w", c.store, err)
	}
	defer func() { err = errors.Join(err, db.cleanup()) }()

	opts := duroxide.RuntimeOptions{
		OrchestrationConcurrency: c.orchConc,
		WorkerConcurrency:        c.workConc,
		InstanceCacheSize:        c.cache,
		DispatcherPollInterval:   c.poll,
	}
	if os.Getenv("DUROXIDE_LOG") == "" {
		nop := zerolog.Nop()
		opts.Logger = &nop
	}
	rtStore := db.store
	var stats *statsStore
	if c.storeStats {
		rtStore, stats = wrapStats(db.store)
		defer stats.print(stderr)
	}
	rt, err := duroxide.NewRuntime(rtStore, opts)
	if err != nil {
		return result{}, "", err
	}
	w := workloads[c.workload]
	if err := w.register(rt, c); err != nil {
		return result{}, "", fmt.Errorf("register: %w", err)
	}
	if err := rt.Start(ctx); err != nil {
		return result{}, "", err
	}
	defer func() {
		if serr := rt.Shutdown(30 * time.Second); serr != nil {
			err = errors.Join(err, fmt.Errorf("shutdown: %w", serr))
		}
	}()

	var clientStore history.Store = db.store
	if c.crossProc {
		other, err := db.openOther(ctx)
		if err != nil {
			return result{}, "", fmt.Errorf("second store handle: %w", err)
		}
		defer func() {
			if cl, ok := other.(interface{ Close() error }); ok {
				err = errors.Join(err, cl.Close())
			}
		}()
		clientStore = other
	}
	b := &bench{cfg: c, rt: rt, client: duroxide.NewClient(clientStore), db: db}
	stopProgress := startProgress(c, index, rt, stderr)
	cpu0 := cpuTime()
	res, err = w.run(ctx, b)
	res.cpu = cpuTime() - cpu0
	stopProgress()
	if err != nil {
		return result{}, "", err
	}
	if m := rt.MetricsSnapshot(); m.OrchFailures > 0 || m.ActivityAppErrors > 0 {
		return result{}, "", fmt.Errorf("%d orchestrations and %d activities failed", m.OrchFailures, m.ActivityAppErrors)
	}
	return res, db.durability, nil
}

// startProgress prints, every progress interval, how far the run is; stop ends it and
// clears the line.
func startProgress(c *config, index int, rt *duroxide.Runtime, stderr io.Writer) (stop func()) {
	if !c.progress {
		return func() {}
	}
	tty := isTerminal(stderr)
	done, finished := make(chan struct{}), make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(c.progressInt)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprint(stderr, "\r\033[K")
				}
				return
			case <-t.C:
				m := rt.MetricsSnapshot()
				line := fmt.Sprintf("%s run %d/%d: %s, %d orchestrations and %d activities completed, %d turns",
					c.workload, index, c.repeat, time.Since(t0).Round(100*time.Millisecond),
					m.OrchCompletions, m.ActivitySuccess, m.Turns)
				if tty {
					fmt.Fprint(stderr, "\r\033[K"+line)
				} else {
					fmt.Fprintln(stderr, line)
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// cpuTime is the CPU time (user + system) the process has used so far. On a machine
// shared with other work it shows the cost of a run apart from the wait for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
