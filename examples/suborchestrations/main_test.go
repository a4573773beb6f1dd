package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "suborchestrations.db")
	// Twice on the same file: each run uses fresh instance ids.
	for i := range 2 {
		var out strings.Builder
		if err := run(context.Background(), db, &out); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		got := out.String()
		m := regexp.MustCompile(`^(parent-\d+) completed\n`).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("run %d: no parent id in the output:\n%s", i+1, got)
		}
		parent := m[1]
		// Automatic ids are <parent>::sub::<event id>, fixed by the parent's code.
		for _, want := range []string{
			"automatic " + parent + "::sub::2: Child(2) = 4\n",
			"explicit  " + parent + "-explicit: Child(3) = 9\n",
			"parallel  " + parent + "::sub::6: Child(4) = 16\n",
			"parallel  " + parent + "::sub::7: Child(5) = 25\n",
			"failed    sub-orchestration error: negative input -1\n",
			"detached  " + parent + `-audit: Completed "audit of ` + parent + ` recorded"` + "\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("run %d: output lacks %q:\n%s", i+1, want, got)
			}
		}
	}
}
