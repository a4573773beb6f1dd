package main

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGoVet builds duroxide-vet and runs it under go vet -vettool on packages that use
// the real duroxide module.
func TestGoVet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tool and runs go vet")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	tool := filepath.Join(t.TempDir(), "duroxide-vet")
	if out, err := exec.Command(goBin, "build", "-o", tool, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vet := func(pkg string) (string, error) {
		var out bytes.Buffer
		cmd := exec.Command(goBin, "vet", "-vettool="+tool, pkg)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	out, err := vet("./testdata/app")
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("go vet on nondeterministic code: %v (want a failing exit)\n%s", err, out)
	}
	for _, want := range []string{
		"app.go:16:15: time.Now reads the wall clock, which differs on replay: use ctx.UtcNow()",
		"app.go:17:3: fmt.Println prints again on every replay: use ctx.TraceInfo",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("go vet output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "app.go:"); n != 2 {
		t.Errorf("go vet reported %d diagnostics, want 2:\n%s", n, out)
	}

	if out, err := vet("./testdata/clean"); err != nil {
		t.Errorf("go vet on deterministic code: %v\n%s", err, out)
	}
}
