package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var hang = regexp.MustCompile(`Hang   [01] attempt\(s\), failed \(timeout\): timeout: activity timed out\n`)

func TestRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "retry.db")
	// Twice on the same file: each run uses fresh instance ids.
	for i := range 2 {
		var out strings.Builder
		if err := run(context.Background(), db, &out); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		got := out.String()
		for _, want := range []string{
			"Flaky  3 attempt(s), ok: charged on attempt 3\n",
			"Reject 1 attempt(s), failed (activity): Activity 'Reject' call failed: card declined\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, got)
			}
		}
		// A timed-out attempt is not retried. (On a badly overloaded machine the timeout
		// could fire before a worker even picked the attempt up, hence 0 or 1.)
		if !hang.MatchString(got) {
			t.Errorf("run %d: output lacks %s:\n%s", i+1, hang, got)
		}
	}
}
