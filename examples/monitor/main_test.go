package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "monitor.db"), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	var checks, unhealthy, execs, pruned, left int
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "result: ") {
			if _, err := fmt.Sscanf(line, "result: stopped after %d checks (%d unhealthy)", &checks, &unhealthy); err != nil {
				t.Fatalf("result line %q: %v", line, err)
			}
		}
		if strings.HasPrefix(line, "executions: ") {
			if _, err := fmt.Sscanf(line, "executions: %d, pruned %d, left %d", &execs, &pruned, &left); err != nil {
				t.Fatalf("executions line %q: %v", line, err)
			}
		}
	}
	// The stop event arrives while the monitor keeps checking: at least five checks,
	// one execution per check, every third check unhealthy, and one execution left.
	if checks < 5 || unhealthy != checks/3 || execs != checks || pruned != execs-1 || left != 1 {
		t.Fatalf("checks %d, unhealthy %d, executions %d, pruned %d, left %d:\n%s", checks, unhealthy, execs, pruned, left, got)
	}
}
