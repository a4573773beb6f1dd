package dashboard

import (
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
)

// rowIDs returns the instance ids of a list page, in order.
func rowIDs(body string) []string {
	re := regexp.MustCompile(`<tr class="instance-row"[^>]*>\s*<td><a href="[^"]*">([^<]+)</a>`)
	var ids []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		ids = append(ids, html.UnescapeString(m[1]))
	}
	return ids
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestList(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, fx *fixture) {
		fx.seed()
		all := rowIDs(fx.mustGet("/"))
		for _, id := range []string{"order-1001", "order-1002", "order-1003", "forever-1"} {
			if !contains(all, id) {
				t.Errorf("list of all lacks %s: %v", id, all)
			}
		}
		// The child of each order is listed too.
		if len(all) != 7 {
			t.Errorf("list of all: want 7 instances (4 roots, 3 children), got %v", all)
		}
		cases := []struct {
			path      string
			want, not []string
		}{
			{"/?status=Running", []string{"order-1003", "forever-1"}, []string{"order-1001", "order-1002"}},
			{"/?status=completed", []string{"order-1001"}, []string{"order-1002", "order-1003", "forever-1"}},
			{"/?status=Failed", []string{"order-1002"}, []string{"order-1001", "order-1003"}},
			{"/?status=all", []string{"order-1001", "order-1002", "order-1003", "forever-1"}, nil},
			{"/?q=ORDER-100", []string{"order-1001", "order-1002", "order-1003"}, []string{"forever-1"}},
			{"/?q=1002", []string{"order-1002"}, []string{"order-1001", "order-1003", "forever-1"}},
			{"/?q=forever&status=Running", []string{"forever-1"}, []string{"order-1003"}},
			{"/?q=1001&status=Failed", nil, []string{"order-1001"}},
		}
		for _, c := range cases {
			body := fx.mustGet(c.path)
			ids := rowIDs(body)
			for _, id := range c.want {
				if !contains(ids, id) {
					t.Errorf("%s: want %s in %v", c.path, id, ids)
				}
			}
			for _, id := range c.not {
				if contains(ids, id) {
					t.Errorf("%s: %s should not be in %v", c.path, id, ids)
				}
			}
		}
		// The active filter is marked, and the search keeps the filter.
		body := fx.mustGet("/?status=Failed&q=order")
		if !strings.Contains(body, `class="filter active" href="/?q=order&amp;status=Failed"`) {
			t.Errorf("active filter not marked:\n%s", body)
		}
		if r := fx.get("/?status=Bogus"); r.code != http.StatusBadRequest || !strings.Contains(r.body, "unknown status") {
			t.Errorf("unknown status: %s", r)
		}
		// Paging: two a page, newest first, links to the neighbours.
		fx.dash.pageSize = 2
		var paged []string
		for p := 1; ; p++ {
			body := fx.mustGet(listURL("", "", p))
			ids := rowIDs(body)
			if len(ids) > 2 {
				t.Fatalf("page %d has %d rows", p, len(ids))
			}
			paged = append(paged, ids...)
			if !strings.Contains(body, "older →") {
				if p != 4 {
					t.Errorf("want 4 pages, the last is %d", p)
				}
				break
			}
			if p > 1 && !strings.Contains(body, "← newer") {
				t.Errorf("page %d lacks the link to newer instances", p)
			}
		}
		if strings.Join(paged, ",") != strings.Join(all, ",") {
			t.Errorf("pages give %v, the whole list %v", paged, all)
		}
		// A page past the end shows the last page.
		if ids := rowIDs(fx.mustGet("/?page=99")); len(ids) != 1 || ids[0] != all[6] {
			t.Errorf("page past the end: %v", ids)
		}
		// The JSON list.
		var d listData
		r := fx.get("/api/instances?status=Running&page=1")
		if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &d) != nil || d.Total != 2 || len(d.Rows) != 2 || d.Pages != 1 {
			t.Errorf("api list: %s", r)
		}
	})
}

// timelineOf extracts the timeline JSON embedded in an instance page.
func timelineOf(t *testing.T, body string) timeline {
	t.Helper()
	m := regexp.MustCompile(`(?s)<script type="application/json" id="timeline-data">(.*?)</script>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no timeline data in the page")
	}
	var tl timeline
	if err := json.Unmarshal([]byte(m[1]), &tl); err != nil {
		t.Fatalf("timeline data is not JSON (%v): %s", err, m[1])
	}
	return tl
}

// barsByKind maps kind to the states of its bars.
func barsByKind(tl timeline) map[string][]string {
	m := map[string][]string{}
	for _, b := range tl.Bars {
		m[b.Kind] = append(m[b.Kind], b.State)
	}
	return m
}

func TestInstancePage(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, fx *fixture) {
		fx.seed()
		body := fx.mustGet("/instance?id=order-1001")
		for _, want := range []string{
			`id="instance-status">Completed<`,
			"OrderFlow", "1.0.0",
			`id="custom-status">done <span class="muted">(version 3)</span>`,
			"&#34;amount&#34;: 40",                                 // the input, indented
			"&#34;charged&#34;: 40", "&#34;by&#34;: &#34;ops&#34;", // the output, indented
			"<th>stage</th><td><code>charge</code></td>", // KV
			`class="exec active"`,                        // the execution list
			"ActivityScheduled", "TimerFired", "SubOrchestrationCompleted", "ExternalEvent", "QueueEventDelivered",
			`class="tree"`,
			`id="actions"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("instance page lacks %q", want)
			}
		}
		tl := timelineOf(t, body)
		kinds := barsByKind(tl)
		for kind, want := range map[string]string{"orchestration": "completed", "activity": "completed,completed",
			"timer": "completed", "suborchestration": "completed", "event": "completed", "queue": "completed"} {
			if got := strings.Join(kinds[kind], ","); got != want {
				t.Errorf("timeline %s bars: want %s, got %s (%+v)", kind, want, got, tl.Bars)
			}
		}
		var child string
		for _, b := range tl.Bars {
			if b.StartMs < tl.StartMs || b.EndMs > tl.EndMs || b.EndMs < b.StartMs {
				t.Errorf("bar outside the axis [%d, %d]: %+v", tl.StartMs, tl.EndMs, b)
			}
			if b.Kind == "suborchestration" {
				child = b.Link
			}
		}
		if !strings.HasPrefix(child, "/instance?id=") {
			t.Fatalf("the child bar has no link: %q", child)
		}
		// The child's page links its parent, and the tree marks it as the current one.
		cbody := fx.mustGet(child)
		if !strings.Contains(cbody, `<dt>Parent</dt><dd><a href="/instance?id=order-1001">order-1001</a>`) ||
			!strings.Contains(cbody, `class="current"`) || !strings.Contains(cbody, `<a href="/instance?id=order-1001">order-1001</a> <span class="muted">OrderFlow</span>`) {
			t.Errorf("child page lacks its parent or tree:\n%s", cbody)
		}
		// The failed order: the error, and a failed activity bar.
		body = fx.mustGet("/instance?id=order-1002")
		if !strings.Contains(body, "card declined for amount 500") || !strings.Contains(body, `id="instance-status">Failed<`) {
			t.Errorf("failed instance page lacks its error")
		}
		kinds = barsByKind(timelineOf(t, body))
		if got := strings.Join(kinds["activity"], ","); got != "completed,failed" {
			t.Errorf("failed instance: activity bars %s", got)
		}
		if got := strings.Join(kinds["orchestration"], ","); got != "failed" {
			t.Errorf("failed instance: orchestration bar %s", got)
		}
		// The running order: open bars for the wait and the orchestration, auto-refresh.
		body = fx.mustGet("/instance?id=order-1003")
		tl = timelineOf(t, body)
		kinds = barsByKind(tl)
		if got := strings.Join(kinds["event"], ","); got != "open" {
			t.Errorf("running instance: event bars %s", got)
		}
		if got := strings.Join(kinds["orchestration"], ","); got != "open" {
			t.Errorf("running instance: orchestration bar %s", got)
		}
		if !strings.Contains(body, `data-refresh="/api/instance?id=order-1003&amp;execution=1"`) {
			t.Errorf("running instance page does not refresh")
		}
		var api instanceData
		r := fx.get("/api/instance?id=order-1003")
		if r.code != http.StatusOK || json.Unmarshal([]byte(r.body), &api) != nil || api.Status != "Running" ||
			api.CustomStatus == nil || *api.CustomStatus != "awaiting approval" || len(api.Timeline.Bars) != len(tl.Bars) {
			t.Errorf("api instance: %s", r)
		}
		// Unknown instance and execution.
		if r := fx.get("/instance?id=nobody"); r.code != http.StatusNotFound || !strings.Contains(r.body, "no instance &#34;nobody&#34;") {
			t.Errorf("unknown instance: %s", r)
		}
		if r := fx.get("/instance?id=order-1001&execution=7"); r.code != http.StatusNotFound {
			t.Errorf("unknown execution: %s", r)
		}
		if r := fx.get("/api/instance?id=nobody"); r.code != http.StatusNotFound || !strings.Contains(r.header.Get("Content-Type"), "json") {
			t.Errorf("api unknown instance: %s", r)
		}
		// Security headers on every page.
		r = fx.get("/")
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP: %q", csp)
		}
		if r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("Cache-Control") != "no-store" || r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("security headers: %v", r.header)
		}
		// Static files are served.
		if r := fx.get("/static/app.js"); r.code != http.StatusOK || !strings.Contains(r.body, "timeline-data") {
			t.Errorf("app.js: %s", r)
		}
		if r := fx.get("/static/app.css"); r.code != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), "css") {
			t.Errorf("app.css: %s", r)
		}
	})
}

func TestActions(t *testing.T) {
	eachStore(t, Options{}, func(t *testing.T, fx *fixture) {
		fx.seed()
		token := fx.csrf("order-1003")
		form := func(kv ...string) url.Values {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				v.Set(kv[i], kv[i+1])
			}
			return v
		}
		// Refused without the token, with a wrong one, or from another origin.
		for name, f := range map[string]url.Values{
			"no token":    form("action", "raise", "id", "order-1003", "name", "approve", "confirm", "yes"),
			"wrong token": form("csrf", "x"+token, "action", "raise", "id", "order-1003", "name", "approve", "confirm", "yes"),
		} {
			if r := fx.post(f); r.code != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
				t.Errorf("%s: %s", name, r)
			}
		}
		raise := form("csrf", token, "action", "raise", "id", "order-1003", "name", "approve", "data", `{"by": "dashboard"}`)
		if r := fx.do(http.MethodPost, "/action", withConfirm(raise), map[string]string{"Origin": "http://evil.example"}); r.code != http.StatusForbidden {
			t.Errorf("cross-origin POST: %s", r)
		}
		// A token from another session does not work with this session's cookie.
		other := newSessionClient(fx)
		if r := other.post(withConfirm(raise)); r.code != http.StatusForbidden {
			t.Errorf("token of another session: %s", r)
		}
		// Invalid JSON is refused before any confirmation.
		bad := form("csrf", token, "action", "raise", "id", "order-1003", "name", "approve", "data", "hello")
		if r := fx.post(bad); r.code != http.StatusBadRequest || !strings.Contains(r.body, "not valid JSON") {
			t.Errorf("invalid JSON: %s", r)
		}
		if r := fx.post(form("csrf", token, "action", "explode", "id", "order-1003")); r.code != http.StatusBadRequest {
			t.Errorf("unknown action: %s", r)
		}
		// The first POST asks for confirmation and does nothing.
		r := fx.post(raise)
		if r.code != http.StatusOK || !strings.Contains(r.body, `name="confirm" value="yes"`) ||
			!strings.Contains(r.body, "Raise event &#34;approve&#34; on order-1003") || !strings.Contains(r.body, `{&#34;by&#34;:&#34;dashboard&#34;}`) {
			t.Fatalf("confirmation page: %s", r)
		}
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("confirmation page is cacheable: %v", r.header)
		}
		time.Sleep(50 * time.Millisecond) // would the event have been raised, the instance would move on
		if res, _ := fx.client.GetStatus(fx.ctx, "order-1003"); *res.CustomStatus != "awaiting approval" {
			t.Fatalf("the unconfirmed raise acted: %+v", res)
		}
		// Confirmed: the event is raised, the instance moves on.
		r = fx.post(withConfirm(raise))
		if r.code != http.StatusSeeOther || r.header.Get("Location") != "/instance?id=order-1003&done=raise" {
			t.Fatalf("confirmed raise: %s %v", r, r.header)
		}
		if err := fx.client.EnqueueEvent(fx.ctx, "order-1003", "notes", "via test"); err != nil {
			t.Fatal(err)
		}
		if res := fx.wait("order-1003"); res.Status != duroxide.StatusCompleted || !strings.Contains(res.Output.String(), `"by":"dashboard"`) {
			t.Fatalf("order-1003 after the raise: %+v", res)
		}
		if body := fx.mustGet("/instance?id=order-1003&done=raise"); !strings.Contains(body, "Event raised") {
			t.Errorf("no notice after the raise")
		}
		// Cancel.
		cancel := form("csrf", token, "action", "cancel", "id", "forever-1", "reason", "from the dashboard")
		if r := fx.post(cancel); r.code != http.StatusOK || !strings.Contains(r.body, "canceled: from the dashboard") {
			t.Fatalf("cancel confirmation: %s", r)
		}
		if r := fx.post(withConfirm(cancel)); r.code != http.StatusSeeOther {
			t.Fatalf("confirmed cancel: %s", r)
		}
		if res := fx.wait("forever-1"); res.Status != duroxide.StatusFailed || !strings.Contains(res.Error, "from the dashboard") {
			t.Fatalf("forever-1 after the cancel: %+v", res)
		}
		// Delete: a running instance needs force.
		if err := fx.client.StartOrchestration(fx.ctx, "forever-2", "Forever", nil); err != nil {
			t.Fatal(err)
		}
		fx.awaitRunning("forever-2")
		del := form("csrf", token, "action", "delete", "id", "forever-2")
		if r := fx.post(withConfirm(del)); r.code != http.StatusConflict {
			t.Errorf("delete of a running instance without force: %s", r)
		}
		del.Set("force", "1")
		if r := fx.post(del); r.code != http.StatusOK || !strings.Contains(r.body, "Forced") {
			t.Errorf("forced delete confirmation: %s", r)
		}
		r = fx.post(withConfirm(del))
		if r.code != http.StatusSeeOther || r.header.Get("Location") != "/?done=deleted&id=forever-2" {
			t.Fatalf("confirmed delete: %s", r)
		}
		if _, err := fx.client.GetInstanceInfo(fx.ctx, "forever-2"); !errors.Is(err, duroxide.ErrNotFound) {
			t.Errorf("forever-2 after the delete: %v", err)
		}
		if body := fx.mustGet("/?done=deleted&id=forever-2"); !strings.Contains(body, "Instance deleted: forever-2") {
			t.Errorf("no notice after the delete")
		}
		// A finished instance is deleted without force; an unknown one is 404.
		if r := fx.post(withConfirm(form("csrf", token, "action", "delete", "id", "order-1002"))); r.code != http.StatusSeeOther {
			t.Errorf("delete of a failed instance: %s", r)
		}
		if r := fx.post(withConfirm(form("csrf", token, "action", "delete", "id", "order-1002"))); r.code != http.StatusNotFound {
			t.Errorf("delete of a deleted instance: %s", r)
		}
		// Actions are POSTs only.
		if r := fx.get("/action?action=delete&id=order-1001&confirm=yes&csrf=" + url.QueryEscape(token)); r.code != http.StatusMethodNotAllowed {
			t.Errorf("GET /action: %s", r)
		}
	})
}

func withConfirm(v url.Values) url.Values {
	c := url.Values{}
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	c.Set("confirm", "yes")
	return c
}

// newSessionClient is the fixture with a fresh cookie jar: another browser session,
// which gets its own session cookie from an instance page.
func newSessionClient(fx *fixture) *fixture {
	o := newJarFixture(fx)
	o.csrf("order-1001")
	return o
}

func TestHostCheck(t *testing.T) {
	fx := newFixture(t, "sqlite", Options{AllowedHosts: []string{"dash.internal", "10.0.0.5:8080"}})
	for host, want := range map[string]int{
		"127.0.0.1:8080":        http.StatusOK,
		"127.9.9.9":             http.StatusOK,
		"localhost:1234":        http.StatusOK,
		"[::1]:8080":            http.StatusOK,
		"dash.internal:9000":    http.StatusOK,
		"DASH.internal":         http.StatusOK,
		"10.0.0.5:8080":         http.StatusOK,
		"10.0.0.5:9090":         http.StatusForbidden,
		"evil.example":          http.StatusForbidden,
		"evil.example:8080":     http.StatusForbidden,
		"127.0.0.1.evil.com":    http.StatusForbidden,
		"localhost.evil.com:80": http.StatusForbidden,
		"192.168.1.10:8080":     http.StatusForbidden,
	} {
		r := fx.do(http.MethodGet, "/", nil, map[string]string{"Host": host})
		if r.code != want {
			t.Errorf("Host %s: want %d, got %s", host, want, r)
		}
		if want == http.StatusForbidden && !strings.Contains(r.body, "Host not allowed") {
			t.Errorf("Host %s: refusal does not say why: %s", host, r)
		}
	}
	// Actions too are refused for a wrong host, before anything else.
	r := fx.do(http.MethodPost, "/action", url.Values{"action": {"cancel"}, "id": {"x"}}, map[string]string{"Host": "evil.example"})
	if r.code != http.StatusForbidden || !strings.Contains(r.body, "Host not allowed") {
		t.Errorf("POST with a wrong host: %s", r)
	}
}

func TestReadOnly(t *testing.T) {
	eachStore(t, Options{ReadOnly: true}, func(t *testing.T, fx *fixture) {
		fx.seed()
		body := fx.mustGet("/instance?id=order-1003")
		if strings.Contains(body, `id="actions"`) || strings.Contains(body, `name="csrf"`) || strings.Contains(body, `action="/action"`) {
			t.Errorf("read-only page shows actions")
		}
		if !strings.Contains(body, "read-only") {
			t.Errorf("read-only page does not say so")
		}
		// Even with a valid-looking session the POST is refused.
		r := fx.post(url.Values{"action": {"cancel"}, "id": {"order-1003"}, "confirm": {"yes"}})
		if r.code != http.StatusForbidden || !strings.Contains(r.body, "read-only") {
			t.Errorf("read-only POST: %s", r)
		}
		if res, _ := fx.client.GetStatus(fx.ctx, "order-1003"); res.Status != duroxide.StatusRunning {
			t.Errorf("read-only POST acted: %+v", res)
		}
	})
}

func TestAccessToken(t *testing.T) {
	fx := newFixture(t, "sqlite", Options{AccessToken: "s3cret-token"})
	for _, path := range []string{"/", "/instance?id=x", "/api/instances", "/static/app.js"} {
		if r := fx.get(path); r.code != http.StatusUnauthorized || !strings.Contains(r.body+r.header.Get("Content-Type"), "token") && r.code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %s", path, r)
		}
	}
	if r := fx.get("/?token=wrong"); r.code != http.StatusUnauthorized {
		t.Errorf("wrong ?token=: %s", r)
	}
	if r := fx.do(http.MethodGet, "/", nil, map[string]string{"Authorization": "Bearer wrong"}); r.code != http.StatusUnauthorized {
		t.Errorf("wrong bearer: %s", r)
	}
	if r := fx.do(http.MethodGet, "/api/instances", nil, map[string]string{"Authorization": "Bearer s3cret-token"}); r.code != http.StatusOK {
		t.Errorf("bearer: %s", r)
	}
	// A POST is refused without the token even with the right form.
	if r := fx.post(url.Values{"action": {"cancel"}, "id": {"x"}}); r.code != http.StatusUnauthorized {
		t.Errorf("POST without a token: %s", r)
	}
	// ?token= sets the cookie and redirects to the same page without the token.
	r := fx.get("/?status=Running&token=s3cret-token")
	if r.code != http.StatusSeeOther || r.header.Get("Location") != "/?status=Running" {
		t.Fatalf("?token=: %s %v", r, r.header)
	}
	c := r.header.Get("Set-Cookie")
	if !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") || strings.Contains(c, "s3cret-token") {
		t.Errorf("token cookie: %q", c)
	}
	if r := fx.get("/?status=Running"); r.code != http.StatusOK {
		t.Errorf("with the cookie: %s", r)
	}
	// The cookie is bound to this process's secret: another dashboard refuses it.
	fx2 := newFixture(t, "sqlite", Options{AccessToken: "s3cret-token"})
	u, _ := url.Parse(fx.srv.URL)
	for _, ck := range fx.http.Jar.Cookies(u) {
		if ck.Name == tokenCookie {
			if r := fx2.do(http.MethodGet, "/", nil, map[string]string{"Cookie": tokenCookie + "=" + ck.Value}); r.code != http.StatusUnauthorized {
				t.Errorf("cookie of another dashboard process: %s", r)
			}
		}
	}
}

func TestMetrics(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("duroxide_test_metric 1\n"))
	})
	fx := newFixture(t, "sqlite", Options{Metrics: metrics, AccessToken: "tok"})
	if r := fx.get("/metrics"); r.code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %s", r)
	}
	if r := fx.do(http.MethodGet, "/metrics", nil, map[string]string{"Authorization": "Bearer tok"}); r.code != http.StatusOK || r.body != "duroxide_test_metric 1\n" {
		t.Errorf("/metrics: %s", r)
	}
	fx2 := newFixture(t, "sqlite", Options{})
	if r := fx2.get("/metrics"); r.code != http.StatusNotFound {
		t.Errorf("/metrics without a handler: %s", r)
	}
}

func TestNewNeedsClient(t *testing.T) {
	if _, err := New(nil, Options{}); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

// TestEscaping: values from the store never become markup or script, neither in the
// HTML nor in the timeline JSON embedded in a script element.
func TestEscaping(t *testing.T) {
	fx := newFixture(t, "sqlite", Options{})
	evil := `</script><script>alert(1)</script><b onmouseover="x">`
	id := `evil-<i>"'&`
	if err := fx.client.StartOrchestration(fx.ctx, id, "Forever", evil); err != nil {
		t.Fatal(err)
	}
	fx.awaitRunning(id)
	if err := fx.client.RaiseEvent(fx.ctx, id, evil, evil); err != nil {
		t.Fatal(err)
	}
	body := fx.mustGet("/instance?id=" + url.QueryEscape(id))
	for _, bad := range []string{"<script>alert", "<b onmouseover", "<i>"} {
		if strings.Contains(body, bad) {
			t.Errorf("the page contains %q unescaped", bad)
		}
	}
	tl := timelineOf(t, body)
	if !strings.Contains(tl.Bars[0].Detail, "alert(1)") {
		t.Errorf("the timeline lost the input: %+v", tl.Bars[0])
	}
	list := fx.mustGet("/?q=" + url.QueryEscape("<i>"))
	if ids := rowIDs(list); len(ids) != 1 || ids[0] != id || strings.Contains(list, "<i>") {
		t.Errorf("search for markup: %v", ids)
	}
}
