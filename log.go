package duroxide

import (
	"fmt"
	"os"
	"strings"

	"github.com/rs/zerolog"
)

// Log targets: each has its own level, set with DUROXIDE_LOG.
const (
	TargetRuntime       = "runtime"
	TargetOrchestration = "orchestration"
	TargetActivity      = "activity"
)

// LogLevels holds a default level and per-target overrides.
type LogLevels struct {
	Default zerolog.Level
	Targets map[string]zerolog.Level
}

// ParseLogLevels reads a DUROXIDE_LOG value: a default level and/or comma-separated
// target=level pairs, e.g. "info", "warn,orchestration=debug" or "activity=error".
// Targets are runtime, orchestration and activity.
func ParseLogLevels(spec string) (LogLevels, error) {
	lv := LogLevels{Default: zerolog.InfoLevel, Targets: map[string]zerolog.Level{}}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		target, level, hasTarget := strings.Cut(part, "=")
		if !hasTarget {
			level = target
		}
		l, err := zerolog.ParseLevel(strings.ToLower(strings.TrimSpace(level)))
		if err != nil || (l == zerolog.NoLevel && level != "") {
			return LogLevels{}, fmt.Errorf("%w: DUROXIDE_LOG: unknown level %q", ErrInvalidInput, level)
		}
		if !hasTarget {
			lv.Default = l
			continue
		}
		target = strings.TrimPrefix(strings.TrimSpace(target), "duroxide::")
		switch target {
		case TargetRuntime, TargetOrchestration, TargetActivity:
			lv.Targets[target] = l
		default:
			return LogLevels{}, fmt.Errorf("%w: DUROXIDE_LOG: unknown target %q (want runtime, orchestration or activity)", ErrInvalidInput, target)
		}
	}
	return lv, nil
}

// Level gives the level of a target.
func (lv LogLevels) Level(target string) zerolog.Level {
	if l, ok := lv.Targets[target]; ok {
		return l
	}
	return lv.Default
}

// loggers are the per-target loggers of a runtime.
type loggers struct {
	runtime, orchestration, activity zerolog.Logger
}

// newLoggers builds the target loggers from base. Levels come from DUROXIDE_LOG when
// set; with a caller-supplied logger and no DUROXIDE_LOG, the logger's own level rules.
func newLoggers(base *zerolog.Logger) loggers {
	spec, set := os.LookupEnv("DUROXIDE_LOG")
	lv, err := ParseLogLevels(spec)
	if err != nil {
		lv, _ = ParseLogLevels("")
	}
	var b zerolog.Logger
	if base != nil {
		b = *base
	} else {
		b = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: "15:04:05.000"}).With().Timestamp().Logger()
		if !set {
			lv.Default = zerolog.WarnLevel // a library is quiet unless asked
		}
	}
	mk := func(target string) zerolog.Logger {
		l := b.With().Str("target", target).Logger()
		if set || base == nil {
			l = l.Level(lv.Level(target))
		}
		return l
	}
	out := loggers{runtime: mk(TargetRuntime), orchestration: mk(TargetOrchestration), activity: mk(TargetActivity)}
	if err != nil {
		out.runtime.Warn().Err(err).Msg("ignoring DUROXIDE_LOG")
	}
	return out
}
