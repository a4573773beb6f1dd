package duroxide

import (
	"errors"
	"testing"

	"github.com/rs/zerolog"
)

func TestParseLogLevels(t *testing.T) {
	lv, err := ParseLogLevels("warn, orchestration=debug,duroxide::activity=error")
	if err != nil {
		t.Fatal(err)
	}
	if lv.Default != zerolog.WarnLevel || lv.Level(TargetOrchestration) != zerolog.DebugLevel ||
		lv.Level(TargetActivity) != zerolog.ErrorLevel || lv.Level(TargetRuntime) != zerolog.WarnLevel {
		t.Fatalf("%+v", lv)
	}
	lv, err = ParseLogLevels("")
	if err != nil || lv.Default != zerolog.InfoLevel {
		t.Fatalf("empty spec: %+v %v", lv, err)
	}
	for _, bad := range []string{"loud", "orchestration=shouty", "gpu=info"} {
		if _, err := ParseLogLevels(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("ParseLogLevels(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
}
