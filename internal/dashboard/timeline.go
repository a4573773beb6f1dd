package dashboard

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/duroxide-go/duroxide/history"
)

// timeline is the history of one execution as bars on a time axis, rendered in the
// browser by static/app.js from the JSON embedded in the instance page.
type timeline struct {
	// StartMs and EndMs bound the axis: the first event, and the last event or, for a
	// running execution, the time the page was rendered.
	StartMs int64 `json:"start"`
	EndMs   int64 `json:"end"`
	Bars    []bar `json:"bars"`
}

// bar is one piece of work: scheduled at StartMs, resolved at EndMs (State completed,
// failed, cancelled or fired), or still open (State open, EndMs the axis end). A point
// (an event that arrived with no wait for it, a detached start) has StartMs == EndMs.
type bar struct {
	Kind    string `json:"kind"` // orchestration, activity, timer, event, queue, suborchestration, chained
	Label   string `json:"label"`
	Detail  string `json:"detail,omitempty"`
	StartMs int64  `json:"start"`
	EndMs   int64  `json:"end"`
	State   string `json:"state"`
	EventID uint64 `json:"event"`
	// Link is the dashboard URL of a child or started instance.
	Link string `json:"link,omitempty"`
}

// buildTimeline pairs scheduling events with what resolved them. nowMs closes the open
// bars of a running execution.
func buildTimeline(events []history.Event, nowMs int64) timeline {
	tl := timeline{Bars: []bar{}}
	if len(events) == 0 {
		return tl
	}
	tl.StartMs = events[0].TimestampMs
	tl.EndMs = events[len(events)-1].TimestampMs
	terminal := events[len(events)-1].Kind.IsTerminal()
	if !terminal && nowMs > tl.EndMs {
		tl.EndMs = nowMs
	}
	bySource := map[uint64]int{} // scheduling event id -> index in tl.Bars
	// Waits for events and queue messages resolve by name, first come first served; an
	// arrival with no wait yet is kept until one subscribes.
	openWaits := map[string][]int{}
	early := map[string][]history.Event{}
	add := func(b bar) int {
		tl.Bars = append(tl.Bars, b)
		return len(tl.Bars) - 1
	}
	resolve := func(i int, e history.Event, state string) {
		b := &tl.Bars[i]
		if b.State != "open" {
			return
		}
		b.EndMs, b.State = e.TimestampMs, state
		if d := resultText(e); d != "" {
			b.Detail = joinDetail(b.Detail, d)
		}
	}
	for _, e := range events {
		switch e.Kind {
		case history.OrchestrationStarted:
			bySource[e.EventID] = add(bar{Kind: "orchestration", Label: e.Name + " " + e.Version,
				Detail: "input " + compact(e.Input), StartMs: e.TimestampMs, State: "open", EventID: e.EventID})
		case history.OrchestrationCompleted:
			closeOrch(&tl, e, "completed", "output "+compact(e.Output))
		case history.OrchestrationFailed:
			state := "failed"
			if e.Error != nil && e.Error.Kind == history.KindCancelled {
				state = "cancelled"
			}
			closeOrch(&tl, e, state, errText(e.Error))
		case history.OrchestrationContinuedAsNew:
			closeOrch(&tl, e, "completed", "continued as new with "+compact(e.Input))
		case history.ActivityScheduled:
			d := "input " + compact(e.Input)
			if e.Tag != "" {
				d += " tag " + e.Tag
			}
			if e.SessionID != "" {
				d += " session " + e.SessionID
			}
			bySource[e.EventID] = add(bar{Kind: "activity", Label: e.Name, Detail: d, StartMs: e.TimestampMs, State: "open", EventID: e.EventID})
		case history.TimerCreated:
			bySource[e.EventID] = add(bar{Kind: "timer", Label: "timer", Detail: "due " + fmtTime(e.FireAtMs),
				StartMs: e.TimestampMs, State: "open", EventID: e.EventID})
		case history.SubOrchestrationScheduled:
			bySource[e.EventID] = add(bar{Kind: "suborchestration", Label: e.Name, Detail: e.Instance + " input " + compact(e.Input),
				StartMs: e.TimestampMs, State: "open", EventID: e.EventID, Link: instanceURL(e.Instance)})
		case history.OrchestrationChained:
			add(bar{Kind: "chained", Label: "start " + e.Name, Detail: e.Instance + " input " + compact(e.Input),
				StartMs: e.TimestampMs, EndMs: e.TimestampMs, State: "point", EventID: e.EventID, Link: instanceURL(e.Instance)})
		case history.ExternalSubscribed, history.QueueSubscribed:
			kind, label := "event", "wait "+e.Name
			if e.Kind == history.QueueSubscribed {
				kind, label = "queue", "dequeue "+e.Name
			}
			i := add(bar{Kind: kind, Label: label, StartMs: e.TimestampMs, State: "open", EventID: e.EventID})
			bySource[e.EventID] = i
			key := kind + "\x00" + e.Name
			if q := early[key]; len(q) > 0 {
				arrived := q[0]
				early[key] = q[1:]
				arrived.TimestampMs = e.TimestampMs
				resolve(i, arrived, "completed")
			} else {
				openWaits[key] = append(openWaits[key], i)
			}
		case history.ExternalEvent, history.QueueEventDelivered:
			kind := "event"
			if e.Kind == history.QueueEventDelivered {
				kind = "queue"
			}
			key := kind + "\x00" + e.Name
			if q := openWaits[key]; len(q) > 0 {
				openWaits[key] = q[1:]
				resolve(q[0], e, "completed")
			} else {
				early[key] = append(early[key], e)
			}
		case history.ActivityCompleted, history.SubOrchestrationCompleted, history.TimerFired:
			if i, ok := bySource[e.SourceEventID]; ok {
				resolve(i, e, "completed")
			}
		case history.ActivityFailed, history.SubOrchestrationFailed:
			if i, ok := bySource[e.SourceEventID]; ok {
				resolve(i, e, "failed")
			}
		case history.ActivityCancelRequested, history.SubOrchestrationCancelRequested,
			history.ExternalSubscribedCancelled, history.QueueSubscriptionCancelled:
			if i, ok := bySource[e.SourceEventID]; ok {
				resolve(i, e, "cancelled")
				dropWait(openWaits, i)
			}
		}
	}
	// Arrivals nobody waited for (yet) are points.
	for _, q := range early {
		for _, e := range q {
			kind, label := "event", "event "+e.Name
			if e.Kind == history.QueueEventDelivered {
				kind, label = "queue", "message "+e.Name
			}
			add(bar{Kind: kind, Label: label, Detail: "data " + compact(e.Data), StartMs: e.TimestampMs,
				EndMs: e.TimestampMs, State: "point", EventID: e.EventID})
		}
	}
	for i := range tl.Bars {
		if tl.Bars[i].State == "open" {
			tl.Bars[i].EndMs = tl.EndMs
		}
	}
	sortBars(tl.Bars)
	return tl
}

// closeOrch ends the orchestration's own bar.
func closeOrch(tl *timeline, e history.Event, state, detail string) {
	for i := range tl.Bars {
		if tl.Bars[i].Kind == "orchestration" && tl.Bars[i].State == "open" {
			tl.Bars[i].EndMs, tl.Bars[i].State = e.TimestampMs, state
			tl.Bars[i].Detail = joinDetail(tl.Bars[i].Detail, detail)
		}
	}
}

// dropWait removes a cancelled wait from the waits that arrivals resolve.
func dropWait(waits map[string][]int, i int) {
	for k, q := range waits {
		for j, v := range q {
			if v == i {
				waits[k] = append(q[:j:j], q[j+1:]...)
				return
			}
		}
	}
}

// sortBars orders bars by start, then by event id (stable for equal starts).
func sortBars(bars []bar) {
	for i := 1; i < len(bars); i++ {
		for j := i; j > 0 && less(bars[j], bars[j-1]); j-- {
			bars[j], bars[j-1] = bars[j-1], bars[j]
		}
	}
}

func less(a, b bar) bool {
	if a.StartMs != b.StartMs {
		return a.StartMs < b.StartMs
	}
	return a.EventID < b.EventID
}

// resultText is what a resolving event adds to its bar.
func resultText(e history.Event) string {
	switch {
	case e.Error != nil:
		return errText(e.Error)
	case e.Reason != "":
		return "reason " + e.Reason
	case len(e.Result) > 0:
		return "result " + compact(e.Result)
	case len(e.Data) > 0:
		return "data " + compact(e.Data)
	}
	return ""
}

func errText(d *history.ErrorDetails) string {
	if d == nil {
		return ""
	}
	return "error " + d.DisplayMessage()
}

func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "; " + b
}

// compact renders raw JSON on one line, clipped; null when empty.
func compact(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return clip(string(raw), 120)
	}
	return clip(b.String(), 120)
}

// pretty renders raw JSON indented; "" when empty.
func pretty(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	return b.String()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// eventRow is one line of the plain event table.
type eventRow struct {
	Offset string
	ID     uint64
	Kind   string
	Name   string
	Detail string
}

// eventRows renders the event table: offset from the first event, id, kind, name (a
// completion shows the name of the event it resolves) and the event's data.
func eventRows(events []history.Event) []eventRow {
	rows := make([]eventRow, 0, len(events))
	if len(events) == 0 {
		return rows
	}
	base := events[0].TimestampMs
	names := make(map[uint64]string, len(events))
	for _, e := range events {
		names[e.EventID] = e.Name
		name := e.Name
		if name == "" && e.SourceEventID != 0 {
			name = names[e.SourceEventID]
		}
		rows = append(rows, eventRow{Offset: fmtDuration(e.TimestampMs - base), ID: e.EventID, Kind: string(e.Kind),
			Name: name, Detail: eventDetail(e)})
	}
	return rows
}

func eventDetail(e history.Event) string {
	var parts []string
	if e.SourceEventID != 0 {
		parts = append(parts, "of #"+strconv.FormatUint(e.SourceEventID, 10))
	}
	switch e.Kind {
	case history.OrchestrationStarted:
		parts = append(parts, "version "+e.Version, "input "+compact(e.Input))
		if e.ParentInstance != "" {
			parts = append(parts, "parent "+e.ParentInstance)
		}
	case history.OrchestrationCompleted:
		parts = append(parts, "output "+compact(e.Output))
	case history.OrchestrationContinuedAsNew, history.ActivityScheduled:
		parts = append(parts, "input "+compact(e.Input))
	case history.ActivityCompleted, history.SubOrchestrationCompleted, history.SystemCall:
		parts = append(parts, "result "+compact(e.Result))
	case history.TimerCreated:
		parts = append(parts, "due "+fmtTime(e.FireAtMs))
	case history.ExternalEvent, history.QueueEventDelivered:
		parts = append(parts, "data "+compact(e.Data))
	case history.SubOrchestrationScheduled, history.OrchestrationChained:
		parts = append(parts, e.Instance, "input "+compact(e.Input))
	case history.CustomStatusUpdated:
		if e.Status == nil {
			parts = append(parts, "(reset)")
		} else {
			parts = append(parts, strconv.Quote(*e.Status))
		}
	case history.KeyValueSet:
		parts = append(parts, e.Key+" = "+strconv.Quote(e.Value))
	case history.KeyValueCleared:
		parts = append(parts, e.Key)
	}
	if e.Error != nil {
		parts = append(parts, errText(e.Error))
	}
	if e.Reason != "" {
		parts = append(parts, "reason "+strconv.Quote(e.Reason))
	}
	return strings.Join(parts, " ")
}
