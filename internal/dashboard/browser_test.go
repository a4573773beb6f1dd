package dashboard

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chromiumPath finds a headless-capable Chromium; CI installs Debian's chromium.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser runs headless Chromium on one URL with extra flags (--dump-dom,
// --screenshot=...) and returns its stdout.
func browser(t *testing.T, bin string, args ...string) string {
	t.Helper()
	// A browser start takes from seconds to a minute on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	base := []string{"--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--no-first-run",
		"--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-default-apps", "--hide-scrollbars", "--force-device-scale-factor=1",
		"--user-data-dir=" + t.TempDir(), "--window-size=1400,900"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// TestBrowser loads the dashboard in headless Chromium: the list, a filtered list, and
// an instance page whose timeline the JavaScript draws from the embedded JSON (the DOM
// dump shows the bars only if the script ran under the Content-Security-Policy), of
// which it takes a screenshot; with DASHBOARD_SCREENSHOT=path it writes it there too (that is
// how docs/dashboard.png is made).
func TestBrowser(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		if os.Getenv("DUROXIDE_REQUIRE_BROWSER") != "" {
			t.Fatal("no chromium installed, and DUROXIDE_REQUIRE_BROWSER is set (as .ci/run sets it)")
		}
		t.Skip("no chromium installed (CI installs Debian's chromium)")
	}
	fx := newFixture(t, "sqlite", Options{})
	fx.seed()

	dom := browser(t, bin, "--dump-dom", fx.srv.URL+"/")
	for _, id := range []string{"order-1001", "order-1002", "order-1003", "forever-1"} {
		if !strings.Contains(dom, ">"+id+"</a>") {
			t.Errorf("list page in the browser lacks %s", id)
		}
	}

	dom = browser(t, bin, "--dump-dom", fx.srv.URL+"/?status=Failed")
	if !strings.Contains(dom, ">order-1002</a>") || strings.Contains(dom, ">order-1001</a>") || strings.Contains(dom, ">forever-1</a>") {
		t.Errorf("filtered list in the browser:\n%s", dom)
	}
	if !strings.Contains(dom, `class="filter active" href="/?status=Failed"`) {
		t.Errorf("filtered list does not mark its filter")
	}

	page := fx.srv.URL + "/instance?id=order-1001"
	body := fx.mustGet("/instance?id=order-1001")
	want := len(timelineOf(t, body).Bars)
	shot := filepath.Join(t.TempDir(), "dashboard.png")
	dom = browser(t, bin, "--dump-dom", "--screenshot="+shot, "--virtual-time-budget=2000", page)
	m := regexp.MustCompile(`id="timeline"[^>]*data-rendered="(\d+)"|data-rendered="(\d+)"[^>]*id="timeline"`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the timeline was not rendered by the script:\n%s", dom)
	}
	got, _ := strconv.Atoi(m[1] + m[2])
	if got != want || want < 7 {
		t.Errorf("timeline rendered %d bars, the page has %d", got, want)
	}
	for _, cls := range []string{"tl-bar orchestration completed", "tl-bar activity completed", "tl-bar timer completed",
		"tl-bar suborchestration completed", "tl-bar event completed", "tl-bar queue completed"} {
		if !strings.Contains(dom, `class="`+cls+`"`) {
			t.Errorf("rendered timeline lacks a %q bar", cls)
		}
	}
	if n := strings.Count(dom, `class="tl-row"`); n != want {
		t.Errorf("rendered timeline has %d rows, want %d", n, want)
	}
	if !strings.Contains(dom, `class="tl-tick"`) {
		t.Errorf("rendered timeline has no time axis")
	}

	png, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 10_000 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("screenshot is not a PNG of a page (%d bytes)", len(png))
	}
	if dst := os.Getenv("DASHBOARD_SCREENSHOT"); dst != "" {
		if err := os.WriteFile(dst, png, 0o644); err != nil {
			t.Fatalf("write %s: %v", dst, err)
		}
	}
}
