package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "toygres.db"), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	// The monitor exits on the signal, or on its own if it checks the record first.
	monitorOK := strings.Contains(got, "monitor: exited (signal)") || strings.Contains(got, "monitor: exited (instance_not_found)")
	for _, want := range []string{
		"create: created (readiness polled 3 times)",
		"monitor: at least 3 health checks (true)",
		"delete: deleted\n",
		"cloud: 0 records, 0 pods",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !monitorOK {
		t.Errorf("the monitor did not exit:\n%s", got)
	}
}
