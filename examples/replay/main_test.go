package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"trace info: greeting world",
		"turn 1 -> Continue",
		"turn 3 -> Completed",
		`output: {"hello":"Hello, world!","race_value":"Hello, again!","race_winner":0,"shout":"WORLD"}`,
		"replayed 8 recorded events from scratch: same output, no trace repeated",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Count(s, "trace info") != 1 {
		t.Errorf("the trace was repeated on replay:\n%s", s)
	}
}
