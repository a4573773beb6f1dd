package crashtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
)

var (
	crashLong      = flag.Bool("crash.long", false, "run the long crash harness (1,000 instances, 100 kills)")
	crashInstances = flag.Int("crash.instances", 0, "override the number of root instances")
	crashKills     = flag.Int("crash.kills", -1, "override the number of kills")
	crashTerm      = flag.Int("crash.term", -1, "override the percentage of kills preceded by SIGTERM (default 20)")
	crashMaxRun    = flag.Duration("crash.maxrun", 0, "override the longest run before a kill (default 500ms)")
	crashWorkers   = flag.Int("crash.workers", 0, "run this many worker processes at once (default 1), killing one at a time")
	crashDir       = flag.String("crash.dir", "", "keep the database, marker file and worker log in this directory (SQLite) instead of a temporary one")
	crashRace      = flag.Bool("crash.race", false, "build the worker with the race detector (several times slower)")
	crashSeed      = flag.Uint64("crash.seed", 0, "seed of the kill schedule and event timing (0: from the clock; the seed is logged)")
)

// maxDelivery is the workers' MaxDeliveryAttempts. A delivery attempt is counted when
// a message is fetched, so a process killed before it commits uses one up: with the
// default of 10, a crash loop whose runs are shorter than a turn's commit fails healthy
// instances as poison (seen with 60 ms runs on PostgreSQL: the first instance's start
// message was fetched 14 times by 14 processes killed before committing). The harness
// measures loss and duplication, not that safeguard, so it allows many more attempts.
const maxDelivery = 100

// params size one harness run.
type params struct {
	instances int
	kills     int
	// Each run of the worker lasts a random minRun to maxRun before its SIGKILL.
	minRun, maxRun time.Duration
	// earlyPercent of the runs last a random 0 to maxRun from the process start rather
	// than minRun to maxRun from the moment the runtime runs, so that some kills land
	// during start-up.
	earlyPercent int
	// termPercent of the kills send SIGTERM first and SIGKILL a random 0 to maxRun/10
	// later, during the graceful shutdown.
	termPercent int
	// workers run at once (each kill takes one, the next round starts a new one).
	workers int
	// finalWait bounds the last, uninterrupted run that finishes the work.
	finalWait time.Duration
}

func harnessParams() params {
	p := params{instances: 200, kills: 20, minRun: 50 * time.Millisecond, maxRun: 500 * time.Millisecond, earlyPercent: 15, termPercent: 20, workers: 1, finalWait: 3 * time.Minute}
	if *crashLong {
		p.instances, p.kills, p.finalWait = 1000, 100, 10*time.Minute
	}
	if *crashInstances > 0 {
		p.instances = *crashInstances
	}
	if *crashKills >= 0 {
		p.kills = *crashKills
	}
	if *crashTerm >= 0 {
		p.termPercent = *crashTerm
	}
	if *crashMaxRun > 0 {
		p.maxRun = *crashMaxRun
		p.minRun = min(p.minRun, p.maxRun/10)
	}
	if *crashWorkers > 0 {
		p.workers = *crashWorkers
	}
	return p
}

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash harness builds and kills worker processes; skipped with -short")
	}
}

// workDir is the directory of one harness run: -crash.dir/name when set, else a
// temporary directory.
func workDir(t *testing.T, name string) string {
	if *crashDir == "" {
		return t.TempDir()
	}
	dir := filepath.Join(*crashDir, name)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("keeping the run's files in %s", dir)
	return dir
}

// TestCrashSQLite runs the harness on a SQLite file with the default durability
// (WAL, synchronous=FULL).
func TestCrashSQLite(t *testing.T) {
	skipShort(t)
	dir := workDir(t, "sqlite")
	db := filepath.Join(dir, "crash.db")
	store, err := sqlitestore.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	runHarness(t, dir, store, []string{"-store", "sqlite", "-db", db})
}

// TestCrashPostgres runs the harness on a fresh PostgreSQL schema (skipped without
// DATABASE_URL).
func TestCrashPostgres(t *testing.T) {
	skipShort(t)
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		t.Skip("set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL crash harness")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := fmt.Sprintf("crash_%d_%s", time.Now().UnixMilli(), hex.EncodeToString(b[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := pgstore.ConnectWithSchema(ctx, url, schema)
	if err != nil {
		t.Fatalf("connect to schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropSchema(ctx); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = store.Close()
	})
	runHarness(t, workDir(t, "postgres"), store, []string{"-store", "postgres", "-pg-url", url, "-schema", schema})
}

// buildWorker builds the worker program into dir.
func buildWorker(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go tool is needed to build the worker: %v", err)
	}
	bin := filepath.Join(dir, "crashworker")
	start := time.Now()
	args := []string{"build", "-o", bin}
	if *crashRace {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "github.com/duroxide-go/duroxide/internal/crashtest/worker")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build worker: %v\n%s", err, out)
	}
	t.Logf("worker built in %v (race detector: %v)", time.Since(start).Round(time.Millisecond), *crashRace)
	return bin
}

// worker is one running worker process.
type worker struct {
	cmd     *exec.Cmd
	started time.Time
	ready   *readyWriter
	exited  chan struct{} // closed once Wait returned
	waitErr error
}

// readyWriter is the worker's stdout: it closes ready at the "ready" line.
type readyWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	at    time.Time // when ready closed
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.at.IsZero() && strings.Contains(w.buf.String(), "ready\n") {
		w.at = time.Now()
		close(w.ready)
	}
	return len(p), nil
}

func (w *readyWriter) isReady() bool {
	select {
	case <-w.ready:
		return true
	default:
		return false
	}
}

func (w *readyWriter) readyAt() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.at
}

// harness drives the worker processes of one run.
type harness struct {
	t       *testing.T
	bin     string
	args    []string
	markers string
	stderr  *os.File
	runs    int
	live    map[*worker]bool // started, not yet seen exiting
}

func (h *harness) start(seed uint64) *worker {
	h.t.Helper()
	h.runs++
	fmt.Fprintf(h.stderr, "=== run %d (seed %d) at %s\n", h.runs, seed, time.Now().Format(time.RFC3339Nano))
	args := append(append([]string{}, h.args...), "-markers", h.markers, "-seed", strconv.FormatUint(seed, 10),
		"-max-delivery", strconv.Itoa(maxDelivery))
	cmd := exec.Command(h.bin, args...)
	w := &worker{cmd: cmd, ready: &readyWriter{ready: make(chan struct{})}, exited: make(chan struct{})}
	cmd.Stdout = w.ready
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start worker: %v", err)
	}
	w.started = time.Now()
	h.live[w] = true
	go func() {
		w.waitErr = cmd.Wait()
		close(w.exited)
	}()
	return w
}

// waitReady waits until w runs its runtime; it fails the test if w exits or takes
// longer than a minute.
func (h *harness) waitReady(w *worker) time.Time {
	h.t.Helper()
	select {
	case <-w.ready.ready:
		return w.ready.readyAt()
	case <-w.exited:
		h.t.Fatalf("worker run %d exited before it was ready: %v\n%s", h.runs, w.waitErr, h.stderrTail())
	case <-time.After(time.Minute):
		h.t.Fatalf("worker run %d not ready after a minute\n%s", h.runs, h.stderrTail())
	}
	return time.Time{}
}

// kill SIGKILLs w and waits for it to exit; with grace > 0 it first sends SIGTERM and
// kills w grace later, in the middle of its shutdown (unless it finished by then). It
// fails the test if w had already exited, or exited with an error after SIGTERM.
func (h *harness) kill(w *worker, grace time.Duration) (wasReady, killed bool) {
	h.t.Helper()
	select {
	case <-w.exited:
		h.t.Fatalf("worker run %d exited by itself: %v\n%s", h.runs, w.waitErr, h.stderrTail())
	default:
	}
	defer delete(h.live, w)
	wasReady = w.ready.isReady()
	if grace > 0 {
		if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			h.t.Fatalf("SIGTERM worker: %v", err)
		}
		select {
		case <-w.exited:
			if w.waitErr != nil {
				h.t.Fatalf("worker run %d failed its shutdown: %v\n%s", h.runs, w.waitErr, h.stderrTail())
			}
			return wasReady, false
		case <-time.After(grace):
		}
	}
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		if !errors.Is(err, os.ErrProcessDone) {
			h.t.Fatalf("SIGKILL worker: %v", err)
		}
		// It exited just before the SIGKILL: fine after a SIGTERM if it exited cleanly.
		<-w.exited
		if grace == 0 || w.waitErr != nil {
			h.t.Fatalf("worker run %d exited by itself: %v\n%s", h.runs, w.waitErr, h.stderrTail())
		}
		return wasReady, false
	}
	<-w.exited
	return wasReady, true
}

// stop asks w to shut down gracefully and checks it exits cleanly.
func (h *harness) stop(w *worker) {
	h.t.Helper()
	h.waitReady(w) // SIGTERM before the worker handles it would just end it
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		h.t.Errorf("SIGTERM worker: %v", err)
	}
	defer delete(h.live, w)
	select {
	case <-w.exited:
		if w.waitErr != nil {
			h.t.Errorf("worker did not shut down cleanly: %v\n%s", w.waitErr, h.stderrTail())
		}
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.exited
		h.t.Errorf("worker did not stop within 30s of SIGTERM\n%s", h.stderrTail())
	}
}

func (h *harness) stderrTail() string {
	b, err := os.ReadFile(h.stderr.Name())
	if err != nil {
		return err.Error()
	}
	const max = 8000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// figures are what one harness run measured.
type figures struct {
	kills, killsBeforeReady            int
	killsInShutdown, shutdownsFinished int // after SIGTERM: killed during the shutdown, or it finished first
	killPhase, finalPhase, total       time.Duration
	orchestrations                     int
	activities, executions, reExecuted int
	maxExecutions                      int
	reExecutedSameProcess              int // runs again in a process that had run it
	eventsRaised, eventsRecorded       int
	depths                             duroxide.QueueDepths
	startups                           []time.Duration // process start to runtime running
}

func runHarness(t *testing.T, dir string, store history.Store, args []string) {
	p := harnessParams()
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash.seed=%d); %d instances, %d kills, runs of %v to %v (%d%% timed from the process start, the others from the runtime start; %d%% SIGTERM first), %d worker process(es) at once",
		seed, seed, p.instances, p.kills, p.minRun, p.maxRun, p.earlyPercent, p.termPercent, p.workers)
	rnd := mrand.New(mrand.NewPCG(seed, 0x5eed))

	stderr, err := os.Create(filepath.Join(dir, "worker.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stderr.Close() })
	h := &harness{t: t, bin: buildWorker(t, dir), args: args, markers: filepath.Join(dir, "markers"), stderr: stderr,
		live: make(map[*worker]bool)}
	t.Cleanup(func() {
		// A run that failed half-way leaves workers running: kill them before the store
		// goes away.
		for w := range h.live {
			_ = w.cmd.Process.Kill()
			<-w.exited
		}
		if t.Failed() {
			t.Logf("worker stderr (tail):\n%s", h.stderrTail())
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), p.finalWait+5*time.Minute)
	defer cancel()
	client := duroxide.NewClient(store)
	for i := range p.instances {
		if err := client.StartOrchestration(ctx, RootID(i), RootOrchestration, RootInput{I: i}); err != nil {
			t.Fatalf("start %s: %v", RootID(i), err)
		}
	}

	// The events the harness raises (the others come from the raiser orchestrations),
	// in a random order, spread over the first three quarters of the kills.
	var toRaise []int
	for i := range p.instances {
		if !RaisedByOrchestration(i) {
			toRaise = append(toRaise, i)
		}
	}
	rnd.Shuffle(len(toRaise), func(a, b int) { toRaise[a], toRaise[b] = toRaise[b], toRaise[a] })
	raiseBy := max(1, p.kills*3/4)
	raise := func(n int) {
		for ; n > 0 && len(toRaise) > 0; n-- {
			i := toRaise[0]
			toRaise = toRaise[1:]
			if err := client.RaiseEvent(ctx, RootID(i), EventName, EventData(i)); err != nil {
				t.Fatalf("raise %s to %s: %v", EventName, RootID(i), err)
			}
		}
	}

	var fig figures
	t0 := time.Now()
	var live []*worker
	// Rounds go on until p.kills workers have been killed with SIGKILL (a worker asked to
	// shut down may finish before its SIGKILL).
	for k := 0; fig.kills < p.kills; k++ {
		for len(live) < p.workers {
			live = append(live, h.start(seed+uint64(h.runs)))
		}
		victim := rnd.IntN(len(live))
		w := live[victim]
		// Most runs are killed a random time after the runtime started; some at a random
		// moment of their start-up (opening the store, migrating, starting the runtime).
		// A worker that survived an earlier round is killed a random time from now.
		from, minRun := time.Now(), p.minRun
		if !w.ready.isReady() {
			if rnd.IntN(100) < p.earlyPercent {
				from, minRun = w.started, 0
			} else {
				from = h.waitReady(w)
				fig.startups = append(fig.startups, from.Sub(w.started))
			}
		}
		window := minRun + time.Duration(rnd.Int64N(int64(p.maxRun-minRun)+1))
		at := time.Duration(rnd.Int64N(int64(window) + 1))
		sleepUntil(from.Add(at))
		if k < raiseBy {
			raise((len(toRaise) + raiseBy - k - 1) / (raiseBy - k))
		}
		sleepUntil(from.Add(window))
		// Some kills land in the middle of a graceful shutdown (of a worker that runs: one
		// that is still starting may fail on SIGTERM, as it should).
		var grace time.Duration
		if rnd.IntN(100) < p.termPercent && w.ready.isReady() {
			grace = time.Duration(1 + rnd.Int64N(int64(p.maxRun/10)))
		}
		wasReady, killed := h.kill(w, grace)
		switch {
		case !killed:
			fig.shutdownsFinished++
		case grace > 0:
			fig.killsInShutdown++
		}
		if killed {
			fig.kills++
			if !wasReady {
				fig.killsBeforeReady++
			}
		}
		live = slices.Delete(live, victim, victim+1)
	}
	raise(len(toRaise))
	fig.killPhase = time.Since(t0)

	// The last run: uninterrupted until every instance has finished.
	t1 := time.Now()
	for len(live) < p.workers {
		live = append(live, h.start(seed+uint64(h.runs)))
	}
	waitAll(t, ctx, client, rootsAndRaisers(p.instances), p.finalWait)
	fig.finalPhase = time.Since(t1)
	fig.total = time.Since(t0)
	for _, w := range live {
		h.stop(w)
	}

	verify(t, ctx, client, p.instances, h.markers, &fig)
	fig.eventsRaised = p.instances - (p.instances+3)/4
	t.Logf("figures: %d kills (%d before the worker was ready; %d in the middle of a graceful shutdown, %d shutdowns finished before the SIGKILL) in %v; final run %v; total %v",
		fig.kills, fig.killsBeforeReady, fig.killsInShutdown, fig.shutdownsFinished, fig.killPhase.Round(time.Millisecond), fig.finalPhase.Round(time.Millisecond), fig.total.Round(time.Millisecond))
	if len(fig.startups) > 0 {
		slices.Sort(fig.startups)
		t.Logf("figures: worker start-up (process start to runtime running): median %v, max %v",
			fig.startups[len(fig.startups)/2].Round(time.Millisecond), fig.startups[len(fig.startups)-1].Round(time.Millisecond))
	}
	t.Logf("figures: %d orchestration instances completed (%d roots x 2 executions), %.1f instances/s over the total",
		fig.orchestrations, p.instances, float64(fig.orchestrations)/fig.total.Seconds())
	t.Logf("figures: %d activities scheduled, %d executions, %d re-executions (%.1f%%; %d in a process that had already run it), at most %d runs of one activity",
		fig.activities, fig.executions, fig.reExecuted, 100*float64(fig.reExecuted)/float64(max(1, fig.activities)), fig.reExecutedSameProcess, fig.maxExecutions)
	t.Logf("figures: %d events raised by the harness, %d raised by orchestrations; %d %q events recorded in histories",
		fig.eventsRaised, (p.instances+3)/4, fig.eventsRecorded, EventName)
	t.Logf("figures: queues at the end: %d orchestrator messages, %d timers pending, %d activities",
		fig.depths.OrchestratorQueue, fig.depths.TimerQueue, fig.depths.WorkerQueue)
}

func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

// rootsAndRaisers lists the instances of the workload whose ids are known in advance:
// the roots and the raisers (children get ids from their parents' histories).
func rootsAndRaisers(n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, RootID(i))
		if RaisedByOrchestration(i) {
			ids = append(ids, RaiserID(i))
		}
	}
	return ids
}

// waitAll waits until every instance of ids, and every child of a root, is terminal.
func waitAll(t *testing.T, ctx context.Context, client *duroxide.Client, ids []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		if _, err := client.WaitForOrchestration(ctx, id, time.Until(deadline)); errors.Is(err, duroxide.ErrNotFound) {
			continue // a raiser its root never started: the verifier reports it
		} else if err != nil {
			if errors.Is(err, duroxide.ErrTimeout) {
				st, _ := client.GetStatus(ctx, id)
				t.Fatalf("instance %s not finished after %v: status %s (execution %d)", id, timeout, st.Status, st.ExecutionID)
			}
			t.Fatalf("wait for %s: %v", id, err)
		}
	}
	// Children finish before their root does; make sure anyway.
	all, err := client.ListAllInstances(ctx)
	if err != nil {
		t.Fatalf("list instances: %v", err)
	}
	for _, id := range all {
		if _, err := client.WaitForOrchestration(ctx, id, time.Until(deadline)); err != nil {
			t.Fatalf("wait for %s: %v", id, err)
		}
	}
}
