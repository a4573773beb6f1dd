package cli

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
)

// syncBuffer is a buffer that a command writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServe runs serve with args until the returned stop is called; it waits for the
// dashboard's address on stderr and returns its base URL, and stop returns the exit
// code and stderr.
func startServe(t *testing.T, fx *fixture, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(fx.ctx)
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append(append(append([]string{}, fx.global...), "serve"), args...), &out, &errb, false)
	}()
	re := regexp.MustCompile(`duroxide dashboard on (http://[^/ ]+/)`)
	deadline := time.Now().Add(time.Minute)
	for {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			var (
				once sync.Once
				code int
			)
			stop := func() (int, string) {
				once.Do(func() {
					cancel()
					select {
					case code = <-done:
					case <-time.After(time.Minute):
						t.Errorf("serve did not stop:\n%s", errb.String())
					}
				})
				return code, errb.String()
			}
			t.Cleanup(func() { stop() })
			return m[1], stop
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve ended with %d before serving:\n%s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve never printed its address:\n%s", errb.String())
		}
	}
}

func httpGet(t *testing.T, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServe(t *testing.T) {
	saved := MetricsHandler
	t.Cleanup(func() { MetricsHandler = saved })
	MetricsHandler = func(c *duroxide.Client) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m, err := c.GetSystemMetrics(r.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, "instances "+strconv.FormatInt(int64(m.TotalInstances), 10)+"\n")
		})
	}
	eachStore(t, func(t *testing.T, fx *fixture) {
		fx.ok("start", "Greet", "-id", "web-1", "-input", `"web"`)
		fx.waitDone("web-1")
		base, stop := startServe(t, fx, "-addr", "127.0.0.1:0")
		if code, body := httpGet(t, base, nil); code != http.StatusOK || !strings.Contains(body, ">web-1</a>") {
			t.Errorf("list page: %d\n%s", code, body)
		}
		if code, body := httpGet(t, base+"instance?id=web-1", nil); code != http.StatusOK || !strings.Contains(body, "Hello, web!") ||
			!strings.Contains(body, `id="actions"`) {
			t.Errorf("instance page: %d\n%s", code, body)
		}
		if code, body := httpGet(t, base+"metrics", nil); code != http.StatusOK || body != "instances 1\n" {
			t.Errorf("/metrics: %d %q", code, body)
		}
		code, stderr := stop()
		if code != ExitOK || !strings.Contains(stderr, "metrics at http://127.0.0.1:") || !strings.Contains(stderr, "duroxide dashboard stopped") {
			t.Errorf("serve after the interrupt: exit %d\n%s", code, stderr)
		}
	})
}

func TestServeFlags(t *testing.T) {
	saved := MetricsHandler
	t.Cleanup(func() { MetricsHandler = saved })
	MetricsHandler = nil
	fx := newFixture(t, "sqlite")
	fx.ok("start", "Forever", "-id", "ro-1")
	// Read-only with a token: pages need the token, actions are hidden, no /metrics.
	base, stop := startServe(t, fx, "-read-only", "-token", "tok-1", "-addr", "localhost:0", "-allow-host", "dash.example")
	if code, _ := httpGet(t, base, nil); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", code)
	}
	auth := map[string]string{"Authorization": "Bearer tok-1"}
	if code, body := httpGet(t, base+"instance?id=ro-1", auth); code != http.StatusOK || strings.Contains(body, `id="actions"`) {
		t.Errorf("read-only instance page: %d", code)
	}
	if code, _ := httpGet(t, base+"metrics", auth); code != http.StatusNotFound {
		t.Errorf("/metrics without a handler: %d", code)
	}
	// -allow-host accepts that Host header; others are refused.
	if code, _ := httpGet(t, base, map[string]string{"Authorization": "Bearer tok-1", "Host": "dash.example"}); code != http.StatusOK {
		t.Errorf("allowed host: %d", code)
	}
	code, stderr := stop()
	if code != ExitOK || !strings.Contains(stderr, "read-only") || !strings.Contains(stderr, "?token=tok-1") {
		t.Errorf("serve: exit %d\n%s", code, stderr)
	}

	// A non-loopback address needs -token or -insecure; a bad address is a usage error.
	fx.fails(ExitUsage, "without -token", "serve", "-addr", "0.0.0.0:0")
	fx.fails(ExitUsage, "without -token", "serve", "-addr", ":0")
	fx.fails(ExitUsage, "is not HOST:PORT", "serve", "-addr", "localhost")
	fx.fails(ExitUsage, "too many arguments", "serve", "extra")
	base, stop = startServe(t, fx, "-addr", "0.0.0.0:0", "-token", "tok-2")
	if code, _ := httpGet(t, base+"?token=tok-2", nil); code != http.StatusSeeOther {
		t.Errorf("?token= on all interfaces: %d", code)
	}
	if code, _ := stop(); code != ExitOK {
		t.Errorf("serve on all interfaces: exit %d", code)
	}
	// A port in use fails (exit 1).
	base, stop = startServe(t, fx, "-addr", "127.0.0.1:0")
	addr := strings.TrimSuffix(strings.TrimPrefix(base, "http://"), "/")
	fx.fails(ExitFailed, "listen on "+addr, "serve", "-addr", addr)
	stop()
	if out := fx.ok("help", "serve"); !strings.Contains(out, "-allow-host HOST") || !strings.Contains(out, "-insecure") {
		t.Errorf("serve help:\n%s", out)
	}
}

// binaryServe runs "duroxide serve" from the built binary: the dashboard answers, and
// /metrics has the store gauges of promexporter (the hook cmd/duroxide sets); SIGINT
// stops it with exit 0.
func binaryServe(t *testing.T, fx *fixture, bin string) {
	t.Helper()
	cmd := exec.CommandContext(fx.ctx, bin, append(append([]string{}, fx.global...), "serve", "-addr", "127.0.0.1:0")...)
	var errb syncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatalf("start serve: %v", err)
	}
	re := regexp.MustCompile(`duroxide dashboard on (http://[^/ ]+/)`)
	var base string
	for deadline := time.Now().Add(time.Minute); base == ""; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("serve never printed its address:\n%s", errb.String())
		}
	}
	if code, body := httpGet(t, base, nil); code != http.StatusOK || !strings.Contains(body, ">b1</a>") {
		t.Errorf("binary serve list: %d\n%s", code, body)
	}
	if code, body := httpGet(t, base+"metrics", nil); code != http.StatusOK || !strings.Contains(body, `duroxide_instances{status="completed"} 1`) {
		t.Errorf("binary serve /metrics: %d\n%s", code, body)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGINT: %v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "duroxide dashboard stopped") {
		t.Errorf("serve did not stop gracefully:\n%s", errb.String())
	}
}
