package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "fanout.db")
	// Twice on the same file: each run uses fresh instance ids.
	for i := range 2 {
		var out strings.Builder
		if err := run(context.Background(), db, &out); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		got := out.String()
		for _, want := range []string{
			`-FanOutAll: FanOutAll of 5 Square activities`,
			`Square(1) -> {"ok":1}`,
			`Square(3) -> {"err":"Activity 'Square' call failed: 3 is unlucky"}`,
			`Square(5) -> {"ok":25}`,
			`-FanOutTyped: FanOutTyped of 5 Square activities`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, got)
			}
		}
		// Both orchestrations reach the same aggregate.
		agg := `aggregate: 4 ok, sum of squares 46, 1 failed ["Activity 'Square' call failed: 3 is unlucky"]`
		if n := strings.Count(got, agg); n != 2 {
			t.Errorf("run %d: want the aggregate twice, got it %d times:\n%s", i+1, n, got)
		}
	}
}
