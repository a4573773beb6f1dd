package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// proxy forwards TCP connections to the database; stopping it stands for the database
// going away (open connections break, new ones are refused), starting it again for its
// return on the same address.
type proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.start(t)
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if ln, err = net.Listen("tcp", p.addr); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("proxy listen on %s: %v", p.addr, err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.serve(c) })
		}
	})
}

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) serve(c net.Conn) {
	if !p.track(c) {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(up) {
		c.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(up, c); up.Close(); c.Close() })
	wg.Go(func() { io.Copy(c, up); up.Close(); c.Close() })
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// stop closes the listener and every forwarded connection.
func (p *proxy) stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// proxied returns DATABASE_URL pointing at a new proxy.
func proxied(t *testing.T) (*proxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL(t))
	if err != nil || u.Scheme == "" || u.Host == "" {
		t.Skip("DATABASE_URL is not a postgres:// URL with a host: cannot put a proxy in front of it")
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := newProxy(t, target)
	u.Host = p.addr
	return p, u.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Connect keeps trying while the database is away and succeeds once it is back.
func TestConnectWaitsForTheDatabase(t *testing.T) {
	p, url := proxied(t)
	p.stop()
	schema := freshSchema(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	began := time.Now()
	go func() {
		time.Sleep(700 * time.Millisecond)
		p.start(t)
	}()
	s, err := ConnectWithSchema(ctx, url, schema)
	if err != nil {
		t.Fatalf("Connect while the database comes back: %v", err)
	}
	defer s.Close()
	if took := time.Since(began); took < 600*time.Millisecond {
		t.Errorf("Connect succeeded after %v, before the database was back", took)
	}
	if err := s.CreateInstance(t.Context(), start("a")); err != nil {
		t.Fatal(err)
	}
}

// A runtime whose database goes away mid-run backs off, logs, and finishes the work once
// the database is back; the listener reconnects and wake-ups work again.
func TestRuntimeSurvivesDatabaseOutage(t *testing.T) {
	p, url := proxied(t)
	schema := freshSchema(t)
	s := connect(t, url, schema)
	defer s.Close()

	logs := &syncBuffer{}
	logger := zerolog.New(logs).Level(zerolog.WarnLevel)
	rt, err := duroxide.NewRuntime(s, duroxide.RuntimeOptions{
		DispatcherPollInterval: 50 * time.Millisecond, WorkerLockTimeout: 2 * time.Second,
		OrchestratorLockTimeout: 2 * time.Second, Logger: &logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int32
	outage := make(chan struct{})
	var outageOnce sync.Once
	if err := rt.RegisterActivity("Step", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
		if ran.Add(1) == 2 {
			outageOnce.Do(func() { close(outage) })
		}
		time.Sleep(50 * time.Millisecond)
		var n int
		if err := in.Decode(&n); err != nil {
			return nil, err
		}
		return n + 1, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := rt.RegisterOrchestration("Steps", func(ctx *yield.Ctx, in yield.Value) (any, error) {
		n := 0
		for range 6 {
			v, err := ctx.Yield(ctx.ScheduleActivity("Step", n))
			if err != nil {
				return nil, err
			}
			if err := v.Decode(&n); err != nil {
				return nil, err
			}
		}
		return n, nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Shutdown(5 * time.Second) }) // if the test stops early
	client := duroxide.NewClient(s)
	if err := client.StartOrchestration(ctx, "steps-1", "Steps", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-outage:
	case <-ctx.Done():
		t.Fatal("the orchestration did not get going")
	}
	p.stop() // the database goes away mid-run
	time.Sleep(1500 * time.Millisecond)
	if _, err := client.GetStatus(ctx, "steps-1"); err == nil {
		t.Fatal("a client call succeeded while the database was away")
	} else if !history.IsRetryable(err) {
		t.Errorf("a client call while the database was away: %v, want a retryable store error", err)
	}
	p.start(t) // and comes back on the same address

	var res duroxide.OrchestrationResult
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err = client.WaitForOrchestration(ctx, "steps-1", 30*time.Second)
		if err == nil || time.Now().After(deadline) || !history.IsRetryable(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("WaitForOrchestration after the outage: %v\nlogs:\n%s", err, logs)
	}
	if res.Status != duroxide.StatusCompleted || string(res.Output.Raw()) != "6" {
		t.Fatalf("after the outage: %s %s (%s), want Completed 6", res.Status, res.Output.Raw(), res.Error)
	}
	if testing.Verbose() {
		t.Logf("runtime logs:\n%s", logs)
	}
	if l := logs.String(); !strings.Contains(l, "work failed") {
		t.Errorf("the runtime did not log the failed fetches during the outage; logs:\n%s", l)
	}

	if err := rt.Shutdown(5 * time.Second); err != nil {
		t.Errorf("Shutdown: %v", err)
	}

	// Wake-ups through the reconnected listener: another store's write reaches s.
	other := connect(t, dbURL(t), schema)
	defer other.Close()
	orch := s.OrchestratorWork()
	woke := false
	for i := 0; i < 50 && !woke; i++ {
		settle(orch)
		if err := other.CreateInstance(ctx, start(fmt.Sprintf("ping-%d", i))); err != nil {
			t.Fatal(err)
		}
		if woke = recv(orch, 500*time.Millisecond); !woke {
			// Keep the queue without fetchable work, so that the next create notifies.
			if l, err := s.FetchOrchestration(ctx, history.FetchOrchestrationRequest{LockTimeout: time.Minute}); err != nil || l == nil {
				t.Fatalf("FetchOrchestration: %v, %v", l, err)
			}
		}
	}
	if !woke {
		t.Error("no wake-up through NOTIFY after the outage: the listener did not reconnect")
	}
}
