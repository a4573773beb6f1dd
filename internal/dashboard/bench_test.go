package dashboard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPages measures the handler alone (no network) on the demo data set on
// SQLite, plus 200 waiting instances for the list: the instance page of a completed
// order (20 events, a tree of 2) and its JSON, the first page of the list (50 instances
// read), and a search over every id.
func BenchmarkPages(b *testing.B) {
	fx := newFixture(b, "sqlite", Options{})
	fx.seed()
	for i := range 200 {
		if err := fx.client.StartOrchestration(fx.ctx, fmt.Sprintf("bulk-%03d", i), "Forever", nil); err != nil {
			b.Fatal(err)
		}
	}
	// Let the runtime settle (every bulk instance waiting), so it does not compete.
	for i := range 200 {
		fx.awaitRunning(fmt.Sprintf("bulk-%03d", i))
	}
	for _, path := range []string{"/instance?id=order-1001", "/", "/?q=order-100", "/api/instance?id=order-1001"} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Host = "127.0.0.1:8080"
				w := httptest.NewRecorder()
				fx.dash.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", path, w.Code, w.Body.String())
				}
			}
		})
	}
}
