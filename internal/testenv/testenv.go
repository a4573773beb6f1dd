// Package testenv holds what the project's test suites share: a PostgreSQL schema of a
// test's own, and the goroutine-leak check.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide/pgstore"
)

// Postgres connects to DATABASE_URL in a fresh schema named prefix_<ms>_<random> and
// drops the schema at cleanup, through a connection of its own (the test closes the
// store it got first: cleanups run last-registered first). It returns the store, the URL
// and the schema name.
func Postgres(t testing.TB, prefix string) (*pgstore.Store, string, string) {
	t.Helper()
	url := os.Getenv("DATABASE_URL")
	var b [5]byte
	_, _ = rand.Read(b[:])
	schema := fmt.Sprintf("%s_%d_%s", prefix, time.Now().UnixMilli(), hex.EncodeToString(b[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pgstore.ConnectWithSchema(ctx, url, schema)
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		d, err := pgstore.ConnectWithSchema(ctx, url, schema, pgstore.WithMaxConns(1))
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer d.Close()
		if err := d.DropSchema(ctx); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return s, url, schema
}

// WaitGoroutines waits up to 20 s for the goroutine count to fall back to base, and
// fails the test with every goroutine's stack if it does not.
func WaitGoroutines(t testing.TB, base int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
