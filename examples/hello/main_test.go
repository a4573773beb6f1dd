package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"testing"
)

func TestRunTwiceOnOneFile(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hello.db")
	want := regexp.MustCompile(`^instance hello-\d+ completed: \["Hello, world!" "Hello, again!"\]\n$`)
	for range 2 { // the second run finds the file and its first instance, and adds one
		var out bytes.Buffer
		if err := run(db, "world", &out); err != nil {
			t.Fatal(err)
		}
		if !want.Match(out.Bytes()) {
			t.Fatalf("output %q", out.String())
		}
	}
}
