package duroxide

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewLoggerWritesJSONToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "run.log")
	l, closer, err := NewLogger(LogConfig{Format: "json", Level: "debug", File: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Debug().Str("instance_id", "i-1").Msg("hello")
	l.Trace().Msg("too low")
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line, got %q", b)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["message"] != "hello" || rec["instance_id"] != "i-1" || rec["level"] != "debug" {
		t.Fatalf("%v", rec)
	}
}

func TestNewLoggerCompactAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	l, closer, err := NewLogger(LogConfig{File: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Info().Msg("plain line")
	closer.Close()
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "plain line") || strings.Contains(string(b), "{") {
		t.Fatalf("compact output %q", b)
	}
	for _, cfg := range []LogConfig{{Format: "xml"}, {Level: "loud"}} {
		if _, _, err := NewLogger(cfg); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
	dir := t.TempDir()
	if _, _, err := NewLogger(LogConfig{File: dir}); err == nil || !strings.Contains(err.Error(), "failed to open log file") {
		t.Errorf("directory as file: %v", err)
	}
}
