package duroxide

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
)

// LogConfig describes a logger for RuntimeOptions.Logger, in the spirit of the Python
// SDK's init_tracing.
type LogConfig struct {
	// Format is "compact" (default: one console line per record), "pretty" (coloured
	// console lines) or "json" (one JSON object per line).
	Format string
	// Level is the minimum level: trace, debug, info (default), warn, error. DUROXIDE_LOG,
	// when set, overrides it per target.
	Level string
	// File, when set, is appended to (created with its folders); otherwise stderr.
	File string
}

// NewLogger builds the logger described by cfg. Close the returned closer when done
// (it closes the file, if any).
func NewLogger(cfg LogConfig) (*zerolog.Logger, io.Closer, error) {
	level := zerolog.InfoLevel
	if cfg.Level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(cfg.Level))
		if err != nil || l == zerolog.NoLevel {
			return nil, nil, invalid("log level %q (want trace, debug, info, warn or error)", cfg.Level)
		}
		level = l
	}
	var out io.Writer = os.Stderr
	var closer io.Closer = io.NopCloser(nil)
	if cfg.File != "" {
		if err := os.MkdirAll(filepath.Dir(cfg.File), 0o755); err != nil {
			return nil, nil, fmt.Errorf("failed to open log file %q: %w", cfg.File, err)
		}
		f, err := os.OpenFile(cfg.File, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("failed to open log file %q: %w", cfg.File, err)
		}
		out, closer = f, f
	}
	toFile := cfg.File != ""
	switch strings.ToLower(cfg.Format) {
	case "", "compact":
		out = zerolog.ConsoleWriter{Out: out, NoColor: true, TimeFormat: "15:04:05.000"}
	case "pretty":
		out = zerolog.ConsoleWriter{Out: out, NoColor: toFile, TimeFormat: "2006-01-02 15:04:05.000"}
	case "json":
	default:
		closer.Close()
		return nil, nil, invalid("log format %q (want json, pretty or compact)", cfg.Format)
	}
	l := zerolog.New(out).Level(level).With().Timestamp().Logger()
	return &l, closer, nil
}
