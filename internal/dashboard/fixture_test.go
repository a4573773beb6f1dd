package dashboard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/testenv"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// fixture is a store with a runtime running the demo orchestrations, a client, and a
// dashboard served over HTTP on loopback.
type fixture struct {
	t      testing.TB
	kind   string
	ctx    context.Context
	client *duroxide.Client
	srv    *httptest.Server
	dash   *server
	http   *http.Client // with a cookie jar; does not follow redirects
}

// storeKinds: SQLite always, PostgreSQL when DATABASE_URL is set.
func storeKinds() []string {
	kinds := []string{"sqlite"}
	if os.Getenv("DATABASE_URL") != "" {
		kinds = append(kinds, "postgres")
	}
	return kinds
}

// eachStore runs f on a fresh fixture of each store kind.
func eachStore(t *testing.T, opts Options, f func(t *testing.T, fx *fixture)) {
	for _, kind := range storeKinds() {
		t.Run(kind, func(t *testing.T) { f(t, newFixture(t, kind, opts)) })
	}
}

func newFixture(t testing.TB, kind string, opts Options) *fixture {
	t.Helper()
	base := runtime.NumGoroutine()
	t.Cleanup(func() { testenv.WaitGoroutines(t, base) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	var store history.Store
	switch kind {
	case "sqlite":
		s, err := sqlitestore.InMemory()
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		store = s
	case "postgres":
		s, _, _ := testenv.Postgres(t, "dash")
		store = s
	}
	l := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond, Logger: &l})
	if err != nil {
		t.Fatal(err)
	}
	if err := registerDemo(rt); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	client := duroxide.NewClient(store)
	h, err := New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	jar, _ := cookiejar.New(nil)
	fx := &fixture{t: t, kind: kind, ctx: ctx, client: client, srv: srv, dash: h.(*server),
		http: &http.Client{Jar: jar, Timeout: time.Minute,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// Cleanups run last-registered first: the server stops, then the runtime, then the
	// store closes, and the PostgreSQL schema is dropped (registered earlier).
	t.Cleanup(func() {
		if c, ok := store.(io.Closer); ok {
			if err := c.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		}
	})
	t.Cleanup(func() {
		if err := rt.Shutdown(10 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	t.Cleanup(func() {
		fx.http.CloseIdleConnections()
		srv.Close()
	})
	return fx
}

// registerDemo registers the demo orchestrations: OrderFlow validates (activity), waits
// (timer), ships through a child (Ship: an activity and a timer), waits for an
// "approve" event and a "notes" queue message, then charges (an activity that fails
// above 100); Forever waits for an event that never comes.
func registerDemo(rt *duroxide.Runtime) error {
	type order struct {
		Amount int `json:"amount"`
	}
	return errors.Join(
		rt.RegisterActivity("Validate", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return map[string]any{"valid": true}, nil
		}),
		rt.RegisterActivity("Pack", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			return "packed", nil
		}),
		rt.RegisterActivity("Charge", func(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
			var o order
			if err := in.Decode(&o); err != nil {
				return nil, err
			}
			if o.Amount > 100 {
				return nil, fmt.Errorf("card declined for amount %d", o.Amount)
			}
			return map[string]any{"charged": o.Amount}, nil
		}),
		rt.RegisterOrchestration("Ship", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			p, err := ctx.Yield(ctx.ScheduleActivity("Pack", in))
			if err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleTimer(30 * time.Millisecond)); err != nil {
				return nil, err
			}
			return p, nil
		}),
		rt.RegisterOrchestration("OrderFlow", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			ctx.SetCustomStatus("validating")
			ctx.SetKVValue("stage", "validate")
			if _, err := ctx.Yield(ctx.ScheduleActivity("Validate", in)); err != nil {
				return nil, err
			}
			if _, err := ctx.Yield(ctx.ScheduleTimer(40 * time.Millisecond)); err != nil {
				return nil, err
			}
			shipped, err := ctx.Yield(ctx.ScheduleSubOrchestration("Ship", in))
			if err != nil {
				return nil, err
			}
			ctx.SetKVValue("stage", "approval")
			ctx.SetCustomStatus("awaiting approval")
			approval, err := ctx.Yield(ctx.WaitForEvent("approve"))
			if err != nil {
				return nil, err
			}
			note, err := ctx.Yield(ctx.DequeueEvent("notes"))
			if err != nil {
				return nil, err
			}
			ctx.SetKVValue("stage", "charge")
			charged, err := ctx.Yield(ctx.ScheduleActivity("Charge", in))
			if err != nil {
				return nil, err
			}
			ctx.SetCustomStatus("done")
			return map[string]any{"shipped": shipped, "approval": approval, "note": note, "charge": charged}, nil
		}),
		rt.RegisterOrchestration("Forever", func(ctx *yield.Ctx, _ yield.Value) (any, error) {
			return ctx.Yield(ctx.WaitForEvent("never"))
		}),
	)
}

// seed creates the demo data set: order-1001 completed, order-1002 failed (declined
// charge), order-1003 running (awaiting approval), forever-1 running.
func (fx *fixture) seed() {
	t := fx.t
	t.Helper()
	for id, amount := range map[string]int{"order-1001": 40, "order-1002": 500, "order-1003": 10} {
		if err := fx.client.StartOrchestration(fx.ctx, id, "OrderFlow", map[string]int{"amount": amount}); err != nil {
			t.Fatal(err)
		}
	}
	if err := fx.client.StartOrchestration(fx.ctx, "forever-1", "Forever", nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"order-1001", "order-1002", "order-1003"} {
		fx.awaitCustomStatus(id, "awaiting approval")
	}
	for _, id := range []string{"order-1001", "order-1002"} {
		if err := fx.client.EnqueueEvent(fx.ctx, id, "notes", "leave at the door"); err != nil {
			t.Fatal(err)
		}
		if err := fx.client.RaiseEvent(fx.ctx, id, "approve", map[string]string{"by": "ops"}); err != nil {
			t.Fatal(err)
		}
	}
	if res := fx.wait("order-1001"); res.Status != duroxide.StatusCompleted {
		t.Fatalf("order-1001: %+v", res)
	}
	if res := fx.wait("order-1002"); res.Status != duroxide.StatusFailed {
		t.Fatalf("order-1002: %+v", res)
	}
	fx.awaitRunning("forever-1")
}

func (fx *fixture) wait(id string) duroxide.OrchestrationResult {
	fx.t.Helper()
	res, err := fx.client.WaitForOrchestration(fx.ctx, id, 2*time.Minute)
	if err != nil {
		fx.t.Fatalf("wait for %s: %v", id, err)
	}
	return res
}

// awaitCustomStatus waits until the instance shows the custom status want: the turn
// that set it has been committed.
func (fx *fixture) awaitCustomStatus(id, want string) {
	fx.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last uint64
	for time.Now().Before(deadline) {
		res, err := fx.client.WaitForStatusChange(fx.ctx, id, last, 20*time.Millisecond, 30*time.Second)
		if err != nil && !errors.Is(err, duroxide.ErrTimeout) && !errors.Is(err, duroxide.ErrNotFound) {
			fx.t.Fatalf("status of %s: %v", id, err)
		}
		if err == nil {
			if res.CustomStatus != nil && *res.CustomStatus == want {
				return
			}
			if res.IsTerminal() {
				fx.t.Fatalf("%s ended before custom status %q: %+v", id, want, res)
			}
			last = res.CustomStatusVersion
		}
		if errors.Is(err, duroxide.ErrNotFound) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	fx.t.Fatalf("%s never showed custom status %q", id, want)
}

// awaitRunning waits until the instance's first turn has run (its history exists).
func (fx *fixture) awaitRunning(id string) {
	fx.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ev, err := fx.client.ReadExecutionHistory(fx.ctx, id, 1)
		if err == nil && len(ev) > 1 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	fx.t.Fatalf("%s never ran its first turn", id)
}

// response is what one request gave.
type response struct {
	code   int
	body   string
	header http.Header
}

func (r response) String() string {
	b := r.body
	if len(b) > 3000 {
		b = b[:3000] + "…"
	}
	return fmt.Sprintf("HTTP %d\n%s", r.code, b)
}

// do sends a request to the fixture's server; host, when set, replaces the Host header.
func (fx *fixture) do(method, path string, form url.Values, hdr map[string]string) response {
	fx.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(fx.ctx, method, fx.srv.URL+path, body)
	if err != nil {
		fx.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := fx.http.Do(req)
	if err != nil {
		fx.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		fx.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return response{resp.StatusCode, string(b), resp.Header}
}

func (fx *fixture) get(path string) response {
	fx.t.Helper()
	return fx.do(http.MethodGet, path, nil, nil)
}

// mustGet fetches a page that must answer 200.
func (fx *fixture) mustGet(path string) string {
	fx.t.Helper()
	r := fx.get(path)
	if r.code != http.StatusOK {
		fx.t.Fatalf("GET %s: %s", path, r)
	}
	return r.body
}

func (fx *fixture) post(form url.Values) response {
	fx.t.Helper()
	return fx.do(http.MethodPost, "/action", form, nil)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from an instance page (starting the session).
func (fx *fixture) csrf(id string) string {
	fx.t.Helper()
	body := fx.mustGet("/instance?id=" + url.QueryEscape(id))
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		fx.t.Fatalf("no CSRF token on the page of %s", id)
	}
	return m[1]
}

// newJarFixture is fx with an empty cookie jar: another browser.
func newJarFixture(fx *fixture) *fixture {
	jar, _ := cookiejar.New(nil)
	o := *fx
	o.http = &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fx.t.Cleanup(o.http.CloseIdleConnections)
	return &o
}
