package dashboard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/duroxide-go/duroxide/history"
)

// TestBuildTimeline covers what the demo runs do not: an event raised before its wait,
// a cancelled wait and activity (a race lost), a detached start, an arrival nobody
// waited for, and open bars of a running execution closed at "now".
func TestBuildTimeline(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	ev := []history.Event{
		{EventID: 1, TimestampMs: 1000, Kind: history.OrchestrationStarted, Name: "Flow", Version: "1.0.0", Input: raw(`1`)},
		{EventID: 2, TimestampMs: 1000, Kind: history.ActivityScheduled, Name: "Slow", Input: raw(`"x"`)},
		{EventID: 3, TimestampMs: 1000, Kind: history.ExternalSubscribed, Name: "go"},
		{EventID: 4, TimestampMs: 1200, Kind: history.ExternalEvent, Name: "go", Data: raw(`true`)},
		{EventID: 5, TimestampMs: 1200, Kind: history.ActivityCancelRequested, SourceEventID: 2, Reason: "dropped"},
		{EventID: 6, TimestampMs: 1300, Kind: history.ExternalEvent, Name: "early", Data: raw(`7`)},
		{EventID: 7, TimestampMs: 1500, Kind: history.ExternalSubscribed, Name: "early"},
		{EventID: 8, TimestampMs: 1500, Kind: history.OrchestrationChained, Name: "Bg", Instance: "bg-1", Input: raw(`null`)},
		{EventID: 9, TimestampMs: 1500, Kind: history.QueueSubscribed, Name: "inbox"},
		{EventID: 10, TimestampMs: 1500, Kind: history.ExternalSubscribed, Name: "stop"},
		{EventID: 11, TimestampMs: 1600, Kind: history.ExternalSubscribedCancelled, SourceEventID: 10},
		{EventID: 12, TimestampMs: 1700, Kind: history.ExternalEvent, Name: "stop", Data: raw(`1`)},
		{EventID: 13, TimestampMs: 1700, Kind: history.TimerCreated, FireAtMs: 9000},
		{EventID: 14, TimestampMs: 1800, Kind: history.SubOrchestrationScheduled, Name: "Child", Instance: "p::sub::14"},
		{EventID: 15, TimestampMs: 1900, Kind: history.SubOrchestrationFailed, SourceEventID: 14,
			Error: history.Application(history.KindOrchestrationFailed, "child broke")},
	}
	tl := buildTimeline(ev, 2500)
	type row struct {
		Kind, Label, State string
		Start, End         int64
		Link               string
	}
	var got []row
	for _, b := range tl.Bars {
		got = append(got, row{b.Kind, b.Label, b.State, b.StartMs, b.EndMs, b.Link})
	}
	want := []row{
		{"orchestration", "Flow 1.0.0", "open", 1000, 2500, ""},
		{"activity", "Slow", "cancelled", 1000, 1200, ""},
		{"event", "wait go", "completed", 1000, 1200, ""},
		{"event", "wait early", "completed", 1500, 1500, ""}, // the event was there already
		{"chained", "start Bg", "point", 1500, 1500, "/instance?id=bg-1"},
		{"queue", "dequeue inbox", "open", 1500, 2500, ""},
		{"event", "wait stop", "cancelled", 1500, 1600, ""},
		{"event", "event stop", "point", 1700, 1700, ""}, // arrived after its wait was dropped
		{"timer", "timer", "open", 1700, 2500, ""},
		{"suborchestration", "Child", "failed", 1800, 1900, "/instance?id=p%3A%3Asub%3A%3A14"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("bars (-want +got):\n%s", d)
	}
	if tl.StartMs != 1000 || tl.EndMs != 2500 {
		t.Errorf("axis [%d, %d], want [1000, 2500]", tl.StartMs, tl.EndMs)
	}
	for _, b := range tl.Bars {
		switch b.Label {
		case "Child":
			if !strings.Contains(b.Detail, "error child broke") {
				t.Errorf("failed child detail: %q", b.Detail)
			}
		case "Slow":
			if !strings.Contains(b.Detail, `input "x"`) || !strings.Contains(b.Detail, "reason dropped") {
				t.Errorf("cancelled activity detail: %q", b.Detail)
			}
		}
	}
	// A finished execution ends the axis at its last event, whatever "now" is.
	done := append(ev[:3:3], history.Event{EventID: 4, TimestampMs: 1100, Kind: history.OrchestrationCompleted, Output: raw(`2`)})
	tl = buildTimeline(done, 99999)
	if tl.EndMs != 1100 || tl.Bars[0].State != "completed" || tl.Bars[0].EndMs != 1100 || !strings.Contains(tl.Bars[0].Detail, "output 2") {
		t.Errorf("finished execution: %+v", tl)
	}
	// Open bars of a finished execution (dropped by its end) close at the end.
	if tl.Bars[1].State != "open" || tl.Bars[1].EndMs != 1100 {
		t.Errorf("open bar of a finished execution: %+v", tl.Bars[1])
	}
	if tl := buildTimeline(nil, 5); len(tl.Bars) != 0 || tl.Bars == nil {
		t.Errorf("empty history: %+v", tl)
	}
	// The event table names completions after what they resolve.
	rows := eventRows(ev)
	if rows[4].Name != "Slow" || !strings.Contains(rows[4].Detail, "of #2") || rows[14].Detail != "of #14 error child broke" {
		t.Errorf("event rows: %+v %+v", rows[4], rows[14])
	}
}
