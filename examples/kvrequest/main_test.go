package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "kvrequest.db"), &out); err != nil {
		t.Fatal(err)
	}
	want := `service status: ready
op-1 "hello" -> "olleh"
op-2 "world" -> "dlrow"
op-3 "rust" -> "tsur"
result: "served 3 requests"; status shutdown
`
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
