package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "versioning.db"), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`old: version 1.0.0, execution 1: Completed "loaded(extracted(orders))"`,
		`new: version 2.0.0, execution 1: Completed "loaded(transformed(extracted(invoices)))"`,
		`cycler: version 2.0.0, execution 3: Completed "v2 took over at cycle 3"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
