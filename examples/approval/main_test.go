package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "approval.db")
	// Twice on the same file: each run uses fresh instance ids.
	for i := range 2 {
		var out strings.Builder
		if err := run(context.Background(), db, &out); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		got := out.String()
		for _, want := range []string{
			`-laptop: custom status "waiting for approval" (version 1)`,
			`-laptop: laptop approved by alice; custom status "approved by alice"`,
			`-yacht: yacht rejected: no approval within 300ms; custom status "timed out"`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, got)
			}
		}
	}
}
