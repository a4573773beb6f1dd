package determinism_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/duroxide-go/duroxide/analyzer/determinism"
)

// testPackages are the testdata packages. Each of the first seven holds, for one family of
// rules, the positive cases (marked with a want comment) and the negative ones (unmarked:
// the same calls in activities and plain functions, and the deterministic alternatives
// inside orchestrations). registration covers registered functions of every shape, blocks,
// one level of helpers and activities; suppress covers the //duroxide:nondeterministic-ok
// directive, at the end of a line or alone above it. The yield stub has a helper taking
// the context that ranges over a map: the analyzer leaves the yield package alone.
var testPackages = []string{
	"clock", "timers", "random", "iocalls", "concurrency", "maprange", "printing",
	"registration", "suppress",
	"github.com/duroxide-go/duroxide/yield", // skipped: the scheduler itself
}

// categories are the rule names a diagnostic may carry.
var categories = map[string]bool{
	"clock": true, "sleep": true, "timer": true, "random": true, "io": true,
	"goroutine": true, "select": true, "channel": true, "map-range": true, "print": true,
}

// The packages load together: type-checking net/http from source once is slow enough.
func TestAnalyzer(t *testing.T) {
	results := analysistest.Run(t, analysistest.TestData(), determinism.Analyzer, testPackages...)
	seen := map[string]bool{}
	for _, r := range results {
		for _, d := range r.Diagnostics {
			if !categories[d.Category] {
				t.Errorf("diagnostic %q has category %q", d.Message, d.Category)
			}
			seen[d.Category] = true
			if d.End <= d.Pos {
				t.Errorf("diagnostic %q has no range", d.Message)
			}
		}
	}
	for c := range categories {
		if !seen[c] {
			t.Errorf("no testdata case reports rule %q", c)
		}
	}
}
