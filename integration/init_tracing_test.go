package integration_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide"
)

// Ports of the Python SDK's tests/test_init_tracing.py (python-sdk.md §3.10). Python's
// init_tracing(log_file, log_level, log_format) installs a process-global tracing
// subscriber; the Go equivalent is duroxide.NewLogger(LogConfig{File, Level, Format}), which
// builds a logger for RuntimeOptions.Logger. These are unit tests: no store, run once.

// test_init_tracing.py::TestInitTracing::test_is_callable
func TestInitTracing_InitTracing_IsCallable(t *testing.T) {
	// callable(init_tracing): NewLogger exists with the signature users call.
	var fn func(duroxide.LogConfig) (*zerolog.Logger, io.Closer, error) = duroxide.NewLogger
	if fn == nil {
		t.Fatal("duroxide.NewLogger is nil")
	}
}

// test_init_tracing.py::TestInitTracing::test_writes_to_file
func TestInitTracing_InitTracing_WritesToFile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "*.log")
	if err != nil {
		t.Fatal(err)
	}
	logFile := f.Name()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// Python accepts either success or "Failed to init tracing" (a global subscriber was
	// already installed: first writer wins). A Go logger is a value, not process state, so
	// NewLogger always succeeds here; the test also checks that a record reaches the file.
	logger, closer, err := duroxide.NewLogger(duroxide.LogConfig{File: logFile, Level: "info"})
	if err != nil {
		t.Fatalf("NewLogger: %v", err)
	}
	logger.Info().Str("instance_id", "it-1").Msg("tracing to a file")
	logger.Debug().Msg("below the level")
	if err := closer.Close(); err != nil {
		t.Fatalf("closing the log file: %v", err)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "log file", string(b), "tracing to a file")
	if strings.Contains(string(b), "below the level") {
		t.Fatalf("log file %q holds a debug record at level info", b)
	}
}

// test_init_tracing.py::TestInitTracing::test_invalid_path_raises_error
func TestInitTracing_InitTracing_InvalidPathRaisesError(t *testing.T) {
	// Python uses /nonexistent-dir/sub/test.log. NewLogger creates missing folders (as
	// root it would create /nonexistent-dir), so the path goes through a regular file,
	// where no folder can be created.
	blocker := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := duroxide.NewLogger(duroxide.LogConfig{File: filepath.Join(blocker, "sub", "test.log")})
	if err == nil {
		t.Fatal("NewLogger with an impossible path succeeded")
	}
	// Go error strings start in lower case: "failed to open log file".
	contains(t, "error", err.Error(), "failed to open log file")
}
