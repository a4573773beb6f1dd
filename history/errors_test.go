package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDisplayMessage checks the strings of replay-spec §1.5 as errors.go adapts them.
func TestDisplayMessage(t *testing.T) {
	cases := []struct {
		name string
		d    *ErrorDetails
		want string
	}{
		// Infrastructure: infrastructure:{operation}: {message}
		{"infrastructure", Infrastructure("append_history", "disk full", true), "infrastructure:append_history: disk full"},
		{"infrastructure not retryable", Infrastructure("fetch", "connection reset", false), "infrastructure:fetch: connection reset"},
		{"infrastructure empty", &ErrorDetails{Category: CategoryInfrastructure}, "infrastructure:: "},

		// Configuration: nondeterministic: {message}; corrupt history is this port's addition.
		{"nondeterminism", Nondeterminism("expected ActivityScheduled(name=\"A\"), got TimerCreated"),
			`nondeterministic: expected ActivityScheduled(name="A"), got TimerCreated`},
		{"corrupt history", CorruptHistory("completion for unknown event 12"), "corrupted history: completion for unknown event 12"},
		{"configuration without kind", &ErrorDetails{Category: CategoryConfiguration, Message: "m"}, "nondeterministic: m"},

		// Application: canceled: {reason}; orchestration panicked: {message}; else {message}.
		{"cancelled", Cancelled("user requested"), "canceled: user requested"},
		{"cancelled by parent", Cancelled(ReasonParentCancelled), "canceled: parent canceled"},
		{"cancelled ignores message", &ErrorDetails{Category: CategoryApplication, Kind: KindCancelled, Reason: "r", Message: "m"}, "canceled: r"},
		{"panicked", Application(KindPanicked, "runtime error: index out of range [3] with length 2"),
			"orchestration panicked: runtime error: index out of range [3] with length 2"},
		{"activity failed", Application(KindActivityFailed, "card expired"), "card expired"},
		{"orchestration failed", Application(KindOrchestrationFailed, "order rejected"), "order rejected"},
		{"application without kind", &ErrorDetails{Category: CategoryApplication, Message: "plain"}, "plain"},
		{"empty category is application", &ErrorDetails{Message: "plain"}, "plain"},
		{"unknown category is application", &ErrorDetails{Category: "weird", Kind: KindCancelled, Reason: "r"}, "canceled: r"},

		// Poison.
		{"poison orchestration", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonOrchestration,
			Instance: "order-42", AttemptCount: 11, MaxAttempts: 10},
			"poison: orchestration order-42 exceeded 11 attempts (max 10)"},
		{"poison activity", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonActivity,
			Instance: "order-42", ActivityName: "ChargeCard", ActivityID: 6, AttemptCount: 6, MaxAttempts: 5},
			"poison: activity ChargeCard#6 exceeded 6 attempts (max 5)"},
		{"poison deserialization", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonDecode,
			Instance: "order-42", AttemptCount: 3, MaxAttempts: 3, Message: "history codec: decode event: unknown kind \"X\""},
			`poison: orchestration order-42 history deserialization failed after 3 attempts (max 3): history codec: decode event: unknown kind "X"`},
		{"poison without kind", &ErrorDetails{Category: CategoryPoison, Instance: "i", AttemptCount: 2, MaxAttempts: 1},
			"poison: orchestration i exceeded 2 attempts (max 1)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.d.DisplayMessage(); got != c.want {
				t.Errorf("DisplayMessage() = %q, want %q", got, c.want)
			}
			if got := c.d.Error(); got != c.want {
				t.Errorf("Error() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestConstructors(t *testing.T) {
	cases := []struct {
		name string
		got  *ErrorDetails
		want *ErrorDetails
	}{
		{"Application", Application(KindActivityFailed, "boom"), &ErrorDetails{Category: CategoryApplication, Kind: KindActivityFailed, Message: "boom"}},
		{"Cancelled", Cancelled("r"), &ErrorDetails{Category: CategoryApplication, Kind: KindCancelled, Reason: "r"}},
		{"Nondeterminism", Nondeterminism("m"), &ErrorDetails{Category: CategoryConfiguration, Kind: KindNondeterminism, Message: "m"}},
		{"CorruptHistory", CorruptHistory("m"), &ErrorDetails{Category: CategoryConfiguration, Kind: KindCorruptHistory, Message: "m"}},
		{"Infrastructure", Infrastructure("op", "m", true), &ErrorDetails{Category: CategoryInfrastructure, Operation: "op", Message: "m", Retryable: true}},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, c.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

var sentinels = []struct {
	name string
	err  error
}{
	{"ErrApplication", ErrApplication},
	{"ErrInfrastructure", ErrInfrastructure},
	{"ErrConfiguration", ErrConfiguration},
	{"ErrNondeterminism", ErrNondeterminism},
	{"ErrCorruptHistory", ErrCorruptHistory},
	{"ErrPoison", ErrPoison},
}

func TestErrorsIs(t *testing.T) {
	cases := []struct {
		name string
		d    *ErrorDetails
		is   []error // exactly the sentinels the details match
	}{
		{"application", Application(KindActivityFailed, "x"), []error{ErrApplication}},
		{"cancelled", Cancelled("x"), []error{ErrApplication}},
		{"panicked", Application(KindPanicked, "x"), []error{ErrApplication}},
		{"empty category", &ErrorDetails{Message: "x"}, []error{ErrApplication}},
		{"infrastructure", Infrastructure("op", "x", false), []error{ErrInfrastructure}},
		{"nondeterminism", Nondeterminism("x"), []error{ErrNondeterminism, ErrConfiguration}},
		{"corrupt history", CorruptHistory("x"), []error{ErrCorruptHistory, ErrConfiguration}},
		{"other configuration", &ErrorDetails{Category: CategoryConfiguration, Kind: "missing_handler"}, []error{ErrConfiguration}},
		{"poison orchestration", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonOrchestration}, []error{ErrPoison}},
		{"poison activity", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonActivity}, []error{ErrPoison}},
		{"poison decode", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonDecode}, []error{ErrPoison}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wrapped := fmt.Errorf("turn of %s: %w", testInstance, c.d)
			for _, s := range sentinels {
				want := false
				for _, e := range c.is {
					if e == s.err {
						want = true
					}
				}
				if got := errors.Is(c.d, s.err); got != want {
					t.Errorf("errors.Is(details, %s) = %v, want %v", s.name, got, want)
				}
				if got := errors.Is(wrapped, s.err); got != want {
					t.Errorf("errors.Is(wrapped details, %s) = %v, want %v", s.name, got, want)
				}
			}
			var d *ErrorDetails
			if !errors.As(wrapped, &d) || d != c.d {
				t.Errorf("errors.As did not recover the details")
			}
		})
	}
}

func TestSentinelRelations(t *testing.T) {
	if !errors.Is(ErrNondeterminism, ErrConfiguration) {
		t.Error("ErrNondeterminism is not ErrConfiguration")
	}
	if !errors.Is(ErrCorruptHistory, ErrConfiguration) {
		t.Error("ErrCorruptHistory is not ErrConfiguration")
	}
	if errors.Is(ErrNondeterminism, ErrCorruptHistory) || errors.Is(ErrCorruptHistory, ErrNondeterminism) {
		t.Error("ErrNondeterminism and ErrCorruptHistory must be distinct")
	}
	if errors.Is(ErrConfiguration, ErrNondeterminism) {
		t.Error("ErrConfiguration must not be ErrNondeterminism")
	}
	for i, a := range sentinels {
		for j, b := range sentinels {
			if i == j {
				continue
			}
			related := (a.err == ErrNondeterminism || a.err == ErrCorruptHistory) && b.err == ErrConfiguration
			if got := errors.Is(a.err, b.err); got != related {
				t.Errorf("errors.Is(%s, %s) = %v, want %v", a.name, b.name, got, related)
			}
		}
	}
	if errors.Is(ErrCodec, ErrCorruptHistory) || errors.Is(ErrCodec, ErrConfiguration) {
		t.Error("ErrCodec must not be a configuration error")
	}
}

func TestIsSystem(t *testing.T) {
	cases := []struct {
		d    *ErrorDetails
		want bool
	}{
		{Application(KindActivityFailed, "x"), false},
		{Application(KindOrchestrationFailed, "x"), false},
		{Application(KindPanicked, "x"), false},
		{Cancelled("x"), false},
		{Infrastructure("op", "x", true), true},
		{Nondeterminism("x"), true},
		{CorruptHistory("x"), true},
		{&ErrorDetails{Category: CategoryPoison, Kind: KindPoisonActivity}, true},
		{&ErrorDetails{Category: CategoryPoison, Kind: KindPoisonOrchestration}, true},
		{&ErrorDetails{Category: CategoryPoison, Kind: KindPoisonDecode}, true},
	}
	for _, c := range cases {
		if got := c.d.IsSystem(); got != c.want {
			t.Errorf("IsSystem(%s/%s) = %v, want %v", c.d.Category, c.d.Kind, got, c.want)
		}
	}
}

func TestErrorDetailsJSON(t *testing.T) {
	full := &ErrorDetails{
		Category: CategoryPoison, Kind: KindPoisonActivity, Message: "m <&> ✓", Reason: "r", Operation: "op",
		Retryable: true, NonRetryable: true, Stack: "goroutine 1:\n\tmain.go:3",
		AttemptCount: 6, MaxAttempts: 5, Instance: "order-42", ActivityName: "Ship", ActivityID: 1<<64 - 1,
	}
	cases := []struct {
		name string
		d    *ErrorDetails
		json string // exact encoding by encoding/json, when given
	}{
		{"full", full, ""},
		{"application", Application(KindActivityFailed, "boom"), `{"category":"application","kind":"activity_failed","message":"boom"}`},
		{"cancelled", Cancelled("user"), `{"category":"application","kind":"cancelled","reason":"user"}`},
		{"infrastructure", Infrastructure("fetch", "reset", true), `{"category":"infrastructure","message":"reset","operation":"fetch","retryable":true}`},
		{"nondeterminism", Nondeterminism("m"), `{"category":"configuration","kind":"nondeterminism","message":"m"}`},
		{"poison", &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonActivity, AttemptCount: 2, MaxAttempts: 1,
			Instance: "i", ActivityName: "A", ActivityID: 3},
			`{"category":"poison","kind":"activity","attempts":2,"max_attempts":1,"instance":"i","activity_name":"A","activity_id":3}`},
		{"zero", &ErrorDetails{}, `{"category":""}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(c.d)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			if c.json != "" && string(b) != c.json {
				t.Errorf("Marshal = %s, want %s", b, c.json)
			}
			var got ErrorDetails
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			if diff := cmp.Diff(c.d, &got); diff != "" {
				t.Errorf("JSON round trip (-want +got):\n%s", diff)
			}
			if got.DisplayMessage() != c.d.DisplayMessage() {
				t.Errorf("DisplayMessage changed across JSON: %q -> %q", c.d.DisplayMessage(), got.DisplayMessage())
			}
		})
	}
	// Inside an event and a message, through the codec.
	b, err := EncodeEvent(Event{EventID: 9, Kind: OrchestrationFailed, Error: full})
	if err != nil {
		t.Fatal(err)
	}
	e, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, e.Error); diff != "" {
		t.Errorf("ErrorDetails through EncodeEvent (-want +got):\n%s", diff)
	}
	b, err = EncodeMessage(Message{Kind: MsgSubOrchFailed, Instance: "p", ID: 4, Error: full})
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(full, m.Error); diff != "" {
		t.Errorf("ErrorDetails through EncodeMessage (-want +got):\n%s", diff)
	}
}

func TestEventKindPredicates(t *testing.T) {
	type preds struct{ terminal, scheduling, completion bool }
	want := map[EventKind]preds{
		OrchestrationStarted:            {},
		OrchestrationCompleted:          {terminal: true},
		OrchestrationFailed:             {terminal: true},
		OrchestrationContinuedAsNew:     {terminal: true},
		OrchestrationCancelRequested:    {},
		ActivityScheduled:               {scheduling: true},
		ActivityCompleted:               {completion: true},
		ActivityFailed:                  {completion: true},
		ActivityCancelRequested:         {scheduling: true},
		TimerCreated:                    {scheduling: true},
		TimerFired:                      {completion: true},
		ExternalSubscribed:              {scheduling: true},
		ExternalEvent:                   {},
		ExternalSubscribedCancelled:     {scheduling: true},
		QueueSubscribed:                 {scheduling: true},
		QueueEventDelivered:             {},
		QueueSubscriptionCancelled:      {scheduling: true},
		SubOrchestrationScheduled:       {scheduling: true},
		SubOrchestrationCompleted:       {completion: true},
		SubOrchestrationFailed:          {completion: true},
		SubOrchestrationCancelRequested: {scheduling: true},
		OrchestrationChained:            {scheduling: true},
		CustomStatusUpdated:             {scheduling: true},
		KeyValueSet:                     {scheduling: true},
		KeyValueCleared:                 {scheduling: true},
		KeyValuesCleared:                {scheduling: true},
		SystemCall:                      {scheduling: true},
	}
	if len(want) != len(allEventKinds) {
		t.Fatalf("predicate table has %d kinds, allEventKinds %d", len(want), len(allEventKinds))
	}
	for _, k := range allEventKinds {
		w, ok := want[k]
		if !ok {
			t.Errorf("kind %s missing from the predicate table", k)
			continue
		}
		got := preds{k.IsTerminal(), k.IsScheduling(), k.IsCompletion()}
		if got != w {
			t.Errorf("%s: (terminal, scheduling, completion) = %+v, want %+v", k, got, w)
		}
		if !k.Valid() {
			t.Errorf("%s.Valid() = false", k)
		}
	}
	for _, k := range []EventKind{"", "Bogus", "activityscheduled", "ACTIVITYSCHEDULED", " ActivityScheduled",
		"ExternalSubscribed2", "ExternalEvent2", "ExternalSubscribedPersistent", "CancelInstance", "StartOrchestration"} {
		if k.Valid() || k.IsTerminal() || k.IsScheduling() || k.IsCompletion() {
			t.Errorf("unknown kind %q: Valid=%v IsTerminal=%v IsScheduling=%v IsCompletion=%v",
				k, k.Valid(), k.IsTerminal(), k.IsScheduling(), k.IsCompletion())
		}
	}
}

func TestEventStringAndDescribe(t *testing.T) {
	long := `"` + strings.Repeat("x", 100) + `"`
	cases := []struct {
		name     string
		e        Event
		describe string
	}{
		{"activity", Event{EventID: 5, Kind: ActivityScheduled, Name: "ChargeCard", Input: raw(`{"amount":12}`)},
			`ActivityScheduled(name="ChargeCard", input={"amount":12})`},
		{"activity with session and tag", Event{EventID: 6, Kind: ActivityScheduled, Name: "A", Input: raw(`"x"`), SessionID: "s1", Tag: "gpu"},
			`ActivityScheduled(name="A", input="x", session="s1", tag="gpu")`},
		{"activity without input", Event{EventID: 7, Kind: ActivityScheduled, Name: "A"},
			`ActivityScheduled(name="A", input=null)`},
		{"activity with long input", Event{EventID: 8, Kind: ActivityScheduled, Name: "A", Input: raw(long)},
			`ActivityScheduled(name="A", input=` + long[:80] + `…)`},
		{"sub-orchestration", Event{EventID: 18, Kind: SubOrchestrationScheduled, Name: "Ship", Instance: "order-42::sub::18", Input: raw(`1`)},
			`SubOrchestrationScheduled(name="Ship", instance="order-42::sub::18", input=1)`},
		{"chained", Event{EventID: 22, Kind: OrchestrationChained, Name: "Audit", Instance: "audit-1", Input: raw(`null`)},
			`OrchestrationChained(name="Audit", instance="audit-1", input=null)`},
		{"external subscribed", Event{EventID: 12, Kind: ExternalSubscribed, Name: "approval"}, `ExternalSubscribed(name="approval")`},
		{"queue subscribed", Event{EventID: 15, Kind: QueueSubscribed, Name: "inbox"}, `QueueSubscribed(name="inbox")`},
		{"external event", Event{EventID: 13, Kind: ExternalEvent, Name: "approval", Data: raw(`true`)}, `ExternalEvent(name="approval", data=true)`},
		{"queue event", Event{EventID: 16, Kind: QueueEventDelivered, Name: "inbox", Data: raw(`"hi"`)}, `QueueEventDelivered(name="inbox", data="hi")`},
		{"timer", Event{EventID: 10, Kind: TimerCreated, FireAtMs: 1000}, `TimerCreated(fire_at=1000)`},
		{"timer fired", Event{EventID: 11, Kind: TimerFired, SourceEventID: 10, FireAtMs: 1000}, `TimerFired(fire_at=1000)`},
		{"kv set", Event{EventID: 24, Kind: KeyValueSet, Key: "k", Value: "v"}, `KeyValueSet(key="k", value="v")`},
		{"kv cleared", Event{EventID: 25, Kind: KeyValueCleared, Key: "k"}, `KeyValueCleared(key="k")`},
		{"system call", Event{EventID: 27, Kind: SystemCall, Name: SysNewGUID}, `SystemCall(new_guid)`},
		{"cancel breadcrumb", Event{EventID: 9, Kind: ActivityCancelRequested, SourceEventID: 6, Reason: ReasonDroppedFuture},
			`ActivityCancelRequested(source=6, reason="dropped_future")`},
		{"activity completed", Event{EventID: 7, Kind: ActivityCompleted, SourceEventID: 6}, `ActivityCompleted(source=6)`},
		{"sub failed", Event{EventID: 20, Kind: SubOrchestrationFailed, SourceEventID: 18}, `SubOrchestrationFailed(source=18)`},
		{"started", Event{EventID: 1, Kind: OrchestrationStarted, Name: "ProcessOrder", Version: "1.2.0"},
			`OrchestrationStarted(name="ProcessOrder", version="1.2.0")`},
		{"completed", Event{EventID: 30, Kind: OrchestrationCompleted, Output: raw(`1`)}, `OrchestrationCompleted`},
		{"statuses", Event{EventID: 23, Kind: CustomStatusUpdated, Status: ptr("s")}, `CustomStatusUpdated`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.e.Describe(); got != c.describe {
				t.Errorf("Describe() = %s\n                 want %s", got, c.describe)
			}
			wantString := fmt.Sprintf("%s at event %d", c.describe, c.e.EventID)
			if got := c.e.String(); got != wantString {
				t.Errorf("String() = %s\n               want %s", got, wantString)
			}
			if got := fmt.Sprint(c.e); got != wantString {
				t.Errorf("fmt.Sprint = %s, want %s", got, wantString)
			}
		})
	}
	// The parts a reader looks for in a nondeterminism message.
	e := Event{EventID: 42, Kind: ActivityScheduled, Name: "SendEmail", Input: raw(`{"to":"ann@example.com"}`)}
	s := e.String()
	for _, part := range []string{"ActivityScheduled", `"SendEmail"`, `{"to":"ann@example.com"}`, "42"} {
		if !strings.Contains(s, part) {
			t.Errorf("String() = %s lacks %s", s, part)
		}
	}
	// Every sample event renders without panicking and starts with its kind.
	for _, c := range sampleEvents() {
		if d := c.event.Describe(); !strings.HasPrefix(d, string(c.event.Kind)) {
			t.Errorf("%s: Describe() = %s does not start with the kind", c.name, d)
		}
	}
}
