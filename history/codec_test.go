package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// allEventKinds lists every EventKind; the tests check that the samples and the
// predicate table cover exactly this list.
var allEventKinds = []EventKind{
	OrchestrationStarted, OrchestrationCompleted, OrchestrationFailed,
	OrchestrationContinuedAsNew, OrchestrationCancelRequested,
	ActivityScheduled, ActivityCompleted, ActivityFailed, ActivityCancelRequested,
	TimerCreated, TimerFired,
	ExternalSubscribed, ExternalEvent, ExternalSubscribedCancelled,
	QueueSubscribed, QueueEventDelivered, QueueSubscriptionCancelled,
	SubOrchestrationScheduled, SubOrchestrationCompleted, SubOrchestrationFailed,
	SubOrchestrationCancelRequested,
	OrchestrationChained,
	CustomStatusUpdated, KeyValueSet, KeyValueCleared, KeyValuesCleared,
	SystemCall,
}

// allMessageKinds lists every MessageKind.
var allMessageKinds = []MessageKind{
	MsgStartOrchestration, MsgContinueAsNew, MsgActivityCompleted, MsgActivityFailed,
	MsgTimerFired, MsgExternalRaised, MsgQueueMessage, MsgSubOrchCompleted, MsgSubOrchFailed,
	MsgCancelInstance, MsgContinue,
}

const (
	testInstance = "order-42"
	testTs       = int64(1732560000000)
)

type eventCase struct {
	name  string
	event Event
}

// sampleEvents gives at least one realistic event of every kind, with every field that
// kind uses filled in.
func sampleEvents() []eventCase {
	base := func(id uint64, kind EventKind) Event {
		return Event{EventID: id, InstanceID: testInstance, ExecutionID: 2, TimestampMs: testTs + int64(id), Kind: kind}
	}
	with := func(e Event, f func(*Event)) Event { f(&e); return e }
	return []eventCase{
		{"OrchestrationStarted", with(base(1, OrchestrationStarted), func(e *Event) {
			e.Name = "ProcessOrder"
			e.Version = "1.2.0"
			e.Input = raw(`{"order":42,"items":["a","b"],"rush":true}`)
			e.ParentInstance = "batch-7"
			e.ParentExecutionID = 3
			e.ParentEventID = 9
			e.CarryForward = []CarriedEvent{
				{Name: "approval", Data: raw(`{"by":"ann","ok":true}`)},
				{Queue: true, Name: "inbox", Data: raw(`"hello"`)},
				{Name: "ping"},
			}
			e.InitialCustomStatus = ptr("resumed at step 3")
		})},
		{"OrchestrationStarted/minimal", with(base(1, OrchestrationStarted), func(e *Event) {
			e.Name = "Hello"
			e.Version = "1.0.0"
		})},
		{"OrchestrationCompleted", with(base(30, OrchestrationCompleted), func(e *Event) {
			e.Output = raw(`{"total":99.5,"currency":"EUR"}`)
		})},
		{"OrchestrationFailed", with(base(31, OrchestrationFailed), func(e *Event) {
			e.Error = &ErrorDetails{Category: CategoryApplication, Kind: KindPanicked, Message: "index out of range", Stack: "goroutine 7 [running]:\nmain.f()\n"}
		})},
		{"OrchestrationFailed/cancelled", with(base(31, OrchestrationFailed), func(e *Event) {
			e.Error = Cancelled("user requested")
		})},
		{"OrchestrationContinuedAsNew", with(base(32, OrchestrationContinuedAsNew), func(e *Event) {
			e.Input = raw(`{"cursor":"abc","page":2}`)
			e.Version = "1.3.0"
		})},
		{"OrchestrationCancelRequested", with(base(5, OrchestrationCancelRequested), func(e *Event) {
			e.Reason = "user requested"
		})},
		{"ActivityScheduled", with(base(6, ActivityScheduled), func(e *Event) {
			e.Name = "ChargeCard"
			e.Input = raw(`{"card":"4242","amount":12.50}`)
			e.SessionID = "session-1"
			e.Tag = "gpu"
		})},
		{"ActivityCompleted", with(base(7, ActivityCompleted), func(e *Event) {
			e.SourceEventID = 6
			e.Result = raw(`"charge-ok-123"`)
		})},
		{"ActivityFailed", with(base(8, ActivityFailed), func(e *Event) {
			e.SourceEventID = 6
			e.Error = &ErrorDetails{Category: CategoryApplication, Kind: KindActivityFailed, Message: "card expired", NonRetryable: true}
		})},
		{"ActivityCancelRequested", with(base(9, ActivityCancelRequested), func(e *Event) {
			e.SourceEventID = 6
			e.Reason = ReasonDroppedFuture
		})},
		{"TimerCreated", with(base(10, TimerCreated), func(e *Event) {
			e.FireAtMs = testTs + 60_000
		})},
		{"TimerFired", with(base(11, TimerFired), func(e *Event) {
			e.SourceEventID = 10
			e.FireAtMs = testTs + 60_000
		})},
		{"ExternalSubscribed", with(base(12, ExternalSubscribed), func(e *Event) {
			e.Name = "approval"
		})},
		{"ExternalEvent", with(base(13, ExternalEvent), func(e *Event) {
			e.Name = "approval"
			e.Data = raw(`{"approved":true,"by":"Zoë"}`)
		})},
		{"ExternalSubscribedCancelled", with(base(14, ExternalSubscribedCancelled), func(e *Event) {
			e.SourceEventID = 12
			e.Reason = ReasonTerminal
		})},
		{"QueueSubscribed", with(base(15, QueueSubscribed), func(e *Event) {
			e.Name = "inbox"
		})},
		{"QueueEventDelivered", with(base(16, QueueEventDelivered), func(e *Event) {
			e.Name = "inbox"
			e.Data = raw(`[1,2,3]`)
		})},
		{"QueueSubscriptionCancelled", with(base(17, QueueSubscriptionCancelled), func(e *Event) {
			e.SourceEventID = 15
			e.Reason = ReasonTerminalCompleted
		})},
		{"SubOrchestrationScheduled", with(base(18, SubOrchestrationScheduled), func(e *Event) {
			e.Name = "ShipOrder"
			e.Version = "2.0.0"
			e.Instance = "order-42::sub::18"
			e.Input = raw(`{"address":"1 Main St"}`)
		})},
		{"SubOrchestrationCompleted", with(base(19, SubOrchestrationCompleted), func(e *Event) {
			e.SourceEventID = 18
			e.Result = raw(`{"tracking":"1Z999"}`)
		})},
		{"SubOrchestrationFailed", with(base(20, SubOrchestrationFailed), func(e *Event) {
			e.SourceEventID = 18
			e.Error = &ErrorDetails{Category: CategoryPoison, Kind: KindPoisonActivity, AttemptCount: 6, MaxAttempts: 5,
				Instance: "order-42::sub::18", ActivityName: "Ship", ActivityID: 4}
		})},
		{"SubOrchestrationCancelRequested", with(base(21, SubOrchestrationCancelRequested), func(e *Event) {
			e.SourceEventID = 18
			e.Reason = ReasonParentDroppedChild
		})},
		{"OrchestrationChained", with(base(22, OrchestrationChained), func(e *Event) {
			e.Name = "AuditTrail"
			e.Instance = "audit-order-42"
			e.Input = raw(`null`)
		})},
		{"CustomStatusUpdated", with(base(23, CustomStatusUpdated), func(e *Event) {
			e.Status = ptr(`{"step":"shipping"}`)
		})},
		{"CustomStatusUpdated/empty", with(base(23, CustomStatusUpdated), func(e *Event) {
			e.Status = ptr("") // set to "", which is not a reset
		})},
		{"CustomStatusUpdated/reset", base(23, CustomStatusUpdated)},
		{"KeyValueSet", with(base(24, KeyValueSet), func(e *Event) {
			e.Key = "progress"
			e.Value = "75% <done> & counting"
		})},
		{"KeyValueCleared", with(base(25, KeyValueCleared), func(e *Event) {
			e.Key = "progress"
		})},
		{"KeyValuesCleared", base(26, KeyValuesCleared)},
		{"SystemCall/new_guid", with(base(27, SystemCall), func(e *Event) {
			e.Name = SysNewGUID
			e.Result = raw(`"5f0c6c7e-2b1a-4c59-9a53-0b6f5c1e2d3a"`)
		})},
		{"SystemCall/utc_now", with(base(28, SystemCall), func(e *Event) {
			e.Name = SysUtcNow
			e.Result = raw(`1732560000123`)
		})},
		{"unicode", with(base(29, ActivityScheduled), func(e *Event) {
			e.InstanceID = "订单-✓-42"
			e.Name = "Grüße 🚀"
			e.Input = raw(`{"text":"héllo wörld ✓ 🚀","esc":"\u00e9\n"}`)
		})},
		{"huge numbers", with(base(^uint64(0), TimerCreated), func(e *Event) {
			e.SourceEventID = ^uint64(0) - 1
			e.ExecutionID = ^uint64(0)
			e.TimestampMs = -1 << 63
			e.FireAtMs = 1<<63 - 1
		})},
	}
}

type messageCase struct {
	name string
	msg  Message
}

// sampleMessages gives a realistic message of every kind.
func sampleMessages() []messageCase {
	return []messageCase{
		{"StartOrchestration", Message{Kind: MsgStartOrchestration, Instance: "order-42::sub::18", ExecutionID: 1,
			Name: "ShipOrder", Version: "2.0.0", Input: raw(`{"address":"1 Main St"}`),
			ParentInstance: "order-42", ParentExecutionID: 2, ParentEventID: 18}},
		{"StartOrchestration/top-level", Message{Kind: MsgStartOrchestration, Instance: "order-43", ExecutionID: 1,
			Name: "ProcessOrder", Input: raw(`43`)}},
		{"ContinueAsNew", Message{Kind: MsgContinueAsNew, Instance: testInstance, ExecutionID: 2,
			Name: "ProcessOrder", Version: "1.3.0", Input: raw(`{"cursor":"abc"}`),
			ParentInstance: "batch-7", ParentExecutionID: 3, ParentEventID: 9,
			CarryForward: []CarriedEvent{
				{Name: "approval", Data: raw(`{"ok":true}`)},
				{Queue: true, Name: "inbox", Data: raw(`"hi"`)},
				{Queue: true, Name: "inbox"},
			},
			InitialCustomStatus: ptr("step 3")}},
		{"ActivityCompleted", Message{Kind: MsgActivityCompleted, Instance: testInstance, ExecutionID: 2, ID: 6,
			Result: raw(`"charge-ok-123"`)}},
		{"ActivityFailed", Message{Kind: MsgActivityFailed, Instance: testInstance, ExecutionID: 2, ID: 6,
			Error: &ErrorDetails{Category: CategoryApplication, Kind: KindActivityFailed, Message: "card expired", NonRetryable: true}}},
		{"TimerFired", Message{Kind: MsgTimerFired, Instance: testInstance, ExecutionID: 2, ID: 10, FireAtMs: testTs + 60_000}},
		{"ExternalRaised", Message{Kind: MsgExternalRaised, Instance: testInstance, Name: "approval",
			Data: raw(`{"approved":true}`)}},
		{"QueueMessage", Message{Kind: MsgQueueMessage, Instance: testInstance, Name: "inbox", Data: raw(`"hello"`)}},
		{"SubOrchCompleted", Message{Kind: MsgSubOrchCompleted, Instance: testInstance, ExecutionID: 2, ID: 18,
			Result: raw(`{"tracking":"1Z999"}`)}},
		{"SubOrchFailed", Message{Kind: MsgSubOrchFailed, Instance: testInstance, ExecutionID: 2, ID: 18,
			Error: Infrastructure("append_history", "disk full", true)}},
		{"CancelInstance", Message{Kind: MsgCancelInstance, Instance: testInstance, Reason: ReasonParentCancelled}},
		{"Continue", Message{Kind: MsgContinue, Instance: testInstance, ExecutionID: 2}},
		{"unicode", Message{Kind: MsgExternalRaised, Instance: "订单-✓", Name: "Grüße 🚀",
			Data: raw(`"héllo \ud83d\ude80 🚀"`)}},
		{"huge numbers", Message{Kind: MsgTimerFired, Instance: testInstance, ExecutionID: ^uint64(0), ID: ^uint64(0),
			FireAtMs: -1 << 63}},
	}
}

func TestSamplesCoverEveryKind(t *testing.T) {
	seenEv := map[EventKind]bool{}
	for _, c := range sampleEvents() {
		seenEv[c.event.Kind] = true
	}
	for _, k := range allEventKinds {
		if !seenEv[k] {
			t.Errorf("no sample event of kind %s", k)
		}
	}
	seenMsg := map[MessageKind]bool{}
	for _, c := range sampleMessages() {
		seenMsg[c.msg.Kind] = true
	}
	for _, k := range allMessageKinds {
		if !seenMsg[k] {
			t.Errorf("no sample message of kind %s", k)
		}
	}
}

// checkEnvelope checks the encoded form: a JSON object with "v":1 and the kind under "type".
func checkEnvelope(t *testing.T, b []byte, kind string) {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("encoded form is not valid JSON: %s", b)
	}
	if !bytes.Contains(b, []byte(`"v":1`)) {
		t.Errorf("encoded form lacks \"v\":1: %s", b)
	}
	if !bytes.Contains(b, []byte(`"type":"`+kind+`"`)) {
		t.Errorf("encoded form lacks \"type\":%q: %s", kind, b)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		t.Fatalf("encoded form is not a JSON object: %v", err)
	}
	if got := string(obj["v"]); got != "1" {
		t.Errorf(`"v" = %s, want 1`, got)
	}
	if got, want := string(obj["type"]), `"`+kind+`"`; got != want {
		t.Errorf(`"type" = %s, want %s`, got, want)
	}
}

func TestEventRoundTrip(t *testing.T) {
	for _, c := range sampleEvents() {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeEvent(c.event)
			if err != nil {
				t.Fatalf("EncodeEvent: %v", err)
			}
			checkEnvelope(t, b, string(c.event.Kind))
			got, err := DecodeEvent(b)
			if err != nil {
				t.Fatalf("DecodeEvent(%s): %v", b, err)
			}
			// RawMessage is a []byte, so cmp compares payloads byte for byte.
			if diff := cmp.Diff(c.event, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s\nencoded: %s", diff, b)
			}
			b2, err := EncodeEvent(got)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs:\n first: %s\nsecond: %s", b, b2)
			}
		})
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, c := range sampleMessages() {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeMessage(c.msg)
			if err != nil {
				t.Fatalf("EncodeMessage: %v", err)
			}
			checkEnvelope(t, b, string(c.msg.Kind))
			got, err := DecodeMessage(b)
			if err != nil {
				t.Fatalf("DecodeMessage(%s): %v", b, err)
			}
			if diff := cmp.Diff(c.msg, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s\nencoded: %s", diff, b)
			}
			b2, err := EncodeMessage(got)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			if !bytes.Equal(b, b2) {
				t.Errorf("re-encoding differs:\n first: %s\nsecond: %s", b, b2)
			}
		})
	}
}

func TestMessageIsStart(t *testing.T) {
	for _, k := range allMessageKinds {
		want := k == MsgStartOrchestration || k == MsgContinueAsNew
		if got := (Message{Kind: k}).IsStart(); got != want {
			t.Errorf("Message{Kind: %s}.IsStart() = %v, want %v", k, got, want)
		}
	}
}

// payloadSamples are payloads whose exact bytes the codec must keep: replay compares
// recorded payloads with new ones byte for byte, and the runtime encodes values without
// HTML escaping (yield.ValueOf) and passes json.RawMessage through as is.
var payloadSamples = []struct{ name, raw string }{
	{"key order", `{"b":1,"a":2}`},
	{"float with zero fraction", `1.0`},
	{"exponent", `1e2`},
	{"negative zero", `-0`},
	{"big integer", `123456789012345678901234567890`},
	{"long fraction", `0.10000000000000000555111512312578270211815834045`},
	{"nested", `{"z":{"y":[true,false,null,{"x":""}]},"a":[]}`},
	{"duplicate keys", `{"a":1,"a":2}`},
	{"null", `null`},
	{"empty string", `""`},
	{"escaped unicode", `"\u00e9\u4e2d\ud83d\ude80"`},
	{"raw unicode", `"é中🚀"`},
	{"escapes", `"tab\tquote\"slash\/backslash\\"`},
	{"html characters", `"a<b && c>d"`},
	{"line separators", "\"\u2028\u2029\""},
	{"inner whitespace", "{ \"a\" : [ 1 ,\n\t2 ] }"},
}

func TestPayloadBytesPreservedInEvents(t *testing.T) {
	type field struct {
		name string
		set  func(*Event, json.RawMessage)
		get  func(Event) json.RawMessage
	}
	fields := []field{
		{"Input", func(e *Event, r json.RawMessage) { e.Kind = ActivityScheduled; e.Input = r }, func(e Event) json.RawMessage { return e.Input }},
		{"Output", func(e *Event, r json.RawMessage) { e.Kind = OrchestrationCompleted; e.Output = r }, func(e Event) json.RawMessage { return e.Output }},
		{"Result", func(e *Event, r json.RawMessage) { e.Kind = ActivityCompleted; e.Result = r }, func(e Event) json.RawMessage { return e.Result }},
		{"Data", func(e *Event, r json.RawMessage) { e.Kind = ExternalEvent; e.Data = r }, func(e Event) json.RawMessage { return e.Data }},
		{"CarryForward.Data", func(e *Event, r json.RawMessage) {
			e.Kind = OrchestrationStarted
			e.CarryForward = []CarriedEvent{{Name: "x", Data: r}}
		}, func(e Event) json.RawMessage {
			if len(e.CarryForward) != 1 {
				return nil
			}
			return e.CarryForward[0].Data
		}},
	}
	for _, f := range fields {
		for _, p := range payloadSamples {
			t.Run(f.name+"/"+p.name, func(t *testing.T) {
				e := Event{EventID: 3, TimestampMs: testTs}
				f.set(&e, raw(p.raw))
				b, err := EncodeEvent(e)
				if err != nil {
					t.Fatalf("EncodeEvent: %v", err)
				}
				if !bytes.Contains(b, []byte(p.raw)) {
					t.Errorf("encoded form does not hold the payload verbatim:\npayload: %s\nencoded: %s", p.raw, b)
				}
				got, err := DecodeEvent(b)
				if err != nil {
					t.Fatalf("DecodeEvent(%s): %v", b, err)
				}
				if g := string(f.get(got)); g != p.raw {
					t.Errorf("payload changed:\n sent %q\n  got %q", p.raw, g)
				}
			})
		}
	}
}

func TestPayloadBytesPreservedInMessages(t *testing.T) {
	type field struct {
		name string
		set  func(*Message, json.RawMessage)
		get  func(Message) json.RawMessage
	}
	fields := []field{
		{"Input", func(m *Message, r json.RawMessage) { m.Kind = MsgStartOrchestration; m.Input = r }, func(m Message) json.RawMessage { return m.Input }},
		{"Result", func(m *Message, r json.RawMessage) { m.Kind = MsgActivityCompleted; m.Result = r }, func(m Message) json.RawMessage { return m.Result }},
		{"Data", func(m *Message, r json.RawMessage) { m.Kind = MsgQueueMessage; m.Data = r }, func(m Message) json.RawMessage { return m.Data }},
		{"CarryForward.Data", func(m *Message, r json.RawMessage) {
			m.Kind = MsgContinueAsNew
			m.CarryForward = []CarriedEvent{{Queue: true, Name: "q", Data: r}}
		}, func(m Message) json.RawMessage {
			if len(m.CarryForward) != 1 {
				return nil
			}
			return m.CarryForward[0].Data
		}},
	}
	for _, f := range fields {
		for _, p := range payloadSamples {
			t.Run(f.name+"/"+p.name, func(t *testing.T) {
				m := Message{Instance: testInstance, ExecutionID: 1, ID: 4}
				f.set(&m, raw(p.raw))
				b, err := EncodeMessage(m)
				if err != nil {
					t.Fatalf("EncodeMessage: %v", err)
				}
				if !bytes.Contains(b, []byte(p.raw)) {
					t.Errorf("encoded form does not hold the payload verbatim:\npayload: %s\nencoded: %s", p.raw, b)
				}
				got, err := DecodeMessage(b)
				if err != nil {
					t.Fatalf("DecodeMessage(%s): %v", b, err)
				}
				if g := string(f.get(got)); g != p.raw {
					t.Errorf("payload changed:\n sent %q\n  got %q", p.raw, g)
				}
			})
		}
	}
}

// A payload's surrounding whitespace is not part of the JSON value: it is dropped, and
// the decoded payload is stable from then on.
func TestPayloadSurroundingWhitespace(t *testing.T) {
	b, err := EncodeEvent(Event{EventID: 1, Kind: ActivityScheduled, Name: "A", Input: raw(" \n[1, 2]\t ")})
	if err != nil {
		t.Fatalf("EncodeEvent: %v", err)
	}
	e, err := DecodeEvent(b)
	if err != nil {
		t.Fatalf("DecodeEvent(%s): %v", b, err)
	}
	if got, want := string(e.Input), "[1, 2]"; got != want {
		t.Errorf("Input = %q, want %q", got, want)
	}
}

// Payloads written by other tools (indented, reordered members) decode to exactly the
// bytes of their value.
func TestDecodeKeepsForeignPayloadBytes(t *testing.T) {
	in := "{\"type\":\"ExternalEvent\",\"name\":\"approval\",\"data\": {\n  \"b\": 1.50,\n  \"a\": \"\\u003c\"\n}\n, \"id\":4,\"ts\":7,\"v\":1}"
	e, err := DecodeEvent([]byte(in))
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	want := Event{EventID: 4, TimestampMs: 7, Kind: ExternalEvent, Name: "approval",
		Data: raw("{\n  \"b\": 1.50,\n  \"a\": \"\\u003c\"\n}")}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name, in string
		want     Event
	}{
		{"minimal", `{"v":1,"type":"KeyValuesCleared"}`, Event{Kind: KeyValuesCleared}},
		{"surrounding whitespace", " \n\t{\"v\":1,\"id\":2,\"type\":\"KeyValuesCleared\"}\r\n ", Event{EventID: 2, Kind: KeyValuesCleared}},
		{"unknown fields of a newer minor writer", `{"v":1,"id":2,"type":"TimerCreated","fire_at":5,"duroxide_version":"0.2.0","extra":{"a":[1]}}`,
			Event{EventID: 2, Kind: TimerCreated, FireAtMs: 5}},
		{"member order", `{"fire_at":5,"type":"TimerCreated","id":2,"v":1}`, Event{EventID: 2, Kind: TimerCreated, FireAtMs: 5}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeEvent([]byte(c.in))
			if err != nil {
				t.Fatalf("DecodeEvent(%s): %v", c.in, err)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// decodeErrorCases are inputs both decoders must reject. kindJSON is a valid kind of the
// decoder under test.
func decodeErrorCases(kindJSON string) []struct{ name, in, contains string } {
	return []struct{ name, in, contains string }{
		{"version 0", `{"v":0,"id":1,"type":` + kindJSON + `}`, "unsupported codec version 0"},
		{"version 2", `{"v":2,"id":1,"type":` + kindJSON + `}`, "unsupported codec version 2"},
		{"version -1", `{"v":-1,"id":1,"type":` + kindJSON + `}`, "unsupported codec version -1"},
		{"version missing", `{"id":1,"type":` + kindJSON + `}`, "unsupported codec version 0"},
		{"version as string", `{"v":"1","id":1,"type":` + kindJSON + `}`, ""},
		{"version as float", `{"v":1.0,"id":1,"type":` + kindJSON + `}`, ""},
		{"version overflow", `{"v":99999999999999999999,"id":1,"type":` + kindJSON + `}`, ""},
		{"unknown kind", `{"v":1,"id":1,"type":"Bogus"}`, `unknown kind "Bogus"`},
		{"kind case differs", `{"v":1,"id":1,"type":` + strings.ToLower(kindJSON) + `}`, "unknown kind"},
		{"kind missing", `{"v":1,"id":1}`, `unknown kind ""`},
		{"kind not a string", `{"v":1,"id":1,"type":7}`, ""},
		{"empty input", ``, ""},
		{"only whitespace", " \n ", ""},
		{"null", `null`, "unsupported codec version 0"},
		{"array", `[{"v":1,"type":` + kindJSON + `}]`, ""},
		{"string", `"hello"`, ""},
		{"truncated", `{"v":1,"id":1,"type":` + kindJSON, ""},
		{"unterminated string", `{"v":1,"type":"`, ""},
		{"malformed", `{"v":1,,"type":` + kindJSON + `}`, ""},
		{"single quotes", `{'v':1}`, ""},
		{"trailing object", `{"v":1,"type":` + kindJSON + `}{"v":1,"type":` + kindJSON + `}`, "trailing data"},
		{"trailing garbage", `{"v":1,"type":` + kindJSON + `} x`, "trailing data"},
		{"trailing comma", `{"v":1,"type":` + kindJSON + `},`, "trailing data"},
		{"id negative", `{"v":1,"id":-1,"type":` + kindJSON + `}`, ""},
		{"id overflow", `{"v":1,"id":18446744073709551616,"type":` + kindJSON + `}`, ""},
		{"id with exponent", `{"v":1,"id":1e3,"type":` + kindJSON + `}`, ""},
		{"fire_at overflow", `{"v":1,"fire_at":9223372036854775808,"type":` + kindJSON + `}`, ""},
		{"instance not a string", `{"v":1,"instance":5,"type":` + kindJSON + `}`, ""},
		{"error not an object", `{"v":1,"error":"boom","type":` + kindJSON + `}`, ""},
		{"carry_forward not an array", `{"v":1,"carry_forward":{},"type":` + kindJSON + `}`, ""},
		{"invalid payload", `{"v":1,"input":{"a":},"type":` + kindJSON + `}`, ""},
	}
}

func TestDecodeEventErrors(t *testing.T) {
	for _, c := range decodeErrorCases(`"ActivityScheduled"`) {
		t.Run(c.name, func(t *testing.T) {
			e, err := DecodeEvent([]byte(c.in))
			if err == nil {
				t.Fatalf("DecodeEvent(%s) = %+v, want an error", c.in, e)
			}
			if !errors.Is(err, ErrCodec) {
				t.Errorf("error %q does not wrap ErrCodec", err)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q does not mention %q", err, c.contains)
			}
			if diff := cmp.Diff(Event{}, e); diff != "" {
				t.Errorf("failed decode returned a non-zero event:\n%s", diff)
			}
		})
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	for _, c := range decodeErrorCases(`"ActivityCompleted"`) {
		t.Run(c.name, func(t *testing.T) {
			m, err := DecodeMessage([]byte(c.in))
			if err == nil {
				t.Fatalf("DecodeMessage(%s) = %+v, want an error", c.in, m)
			}
			if !errors.Is(err, ErrCodec) {
				t.Errorf("error %q does not wrap ErrCodec", err)
			}
			if !strings.Contains(err.Error(), c.contains) {
				t.Errorf("error %q does not mention %q", err, c.contains)
			}
			if diff := cmp.Diff(Message{}, m); diff != "" {
				t.Errorf("failed decode returned a non-zero message:\n%s", diff)
			}
		})
	}
	// An event kind that is not a message kind.
	if _, err := DecodeMessage([]byte(`{"v":1,"type":"OrchestrationStarted","instance":"i"}`)); !errors.Is(err, ErrCodec) {
		t.Errorf("DecodeMessage of an event kind: err = %v, want ErrCodec", err)
	}
	// A message kind that is not an event kind.
	if _, err := DecodeEvent([]byte(`{"v":1,"type":"CancelInstance","id":1}`)); !errors.Is(err, ErrCodec) {
		t.Errorf("DecodeEvent of a message kind: err = %v, want ErrCodec", err)
	}
}

var invalidPayloads = []string{`{`, `nope`, `[1,`, `'x'`, `{"a":1}}`, `1 2`, `NaN`, "\"\x01\""}

func TestEncodeEventErrors(t *testing.T) {
	type enc struct {
		name  string
		event Event
	}
	cases := []enc{
		{"unknown kind", Event{EventID: 1, Kind: "Bogus"}},
		{"empty kind", Event{EventID: 1}},
		{"message kind", Event{EventID: 1, Kind: EventKind(MsgCancelInstance)}},
	}
	for _, p := range invalidPayloads {
		cases = append(cases,
			enc{"Input " + p, Event{EventID: 2, Kind: ActivityScheduled, Name: "A", Input: raw(p)}},
			enc{"Output " + p, Event{EventID: 2, Kind: OrchestrationCompleted, Output: raw(p)}},
			enc{"Result " + p, Event{EventID: 2, Kind: ActivityCompleted, SourceEventID: 1, Result: raw(p)}},
			enc{"Data " + p, Event{EventID: 2, Kind: ExternalEvent, Name: "e", Data: raw(p)}},
			enc{"CarryForward " + p, Event{EventID: 1, Kind: OrchestrationStarted,
				CarryForward: []CarriedEvent{{Name: "ok", Data: raw(`1`)}, {Name: "bad", Data: raw(p)}}}},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeEvent(c.event)
			if err == nil {
				t.Fatalf("EncodeEvent = %s, want an error", b)
			}
			if !errors.Is(err, ErrCodec) {
				t.Errorf("error %q does not wrap ErrCodec", err)
			}
			if b != nil {
				t.Errorf("EncodeEvent returned bytes with its error: %s", b)
			}
		})
	}
}

func TestEncodeMessageErrors(t *testing.T) {
	type enc struct {
		name string
		msg  Message
	}
	cases := []enc{
		{"unknown kind", Message{Kind: "Bogus", Instance: "i"}},
		{"empty kind", Message{Instance: "i"}},
		{"event kind", Message{Kind: MessageKind(OrchestrationStarted), Instance: "i"}},
	}
	for _, p := range invalidPayloads {
		cases = append(cases,
			enc{"Input " + p, Message{Kind: MsgStartOrchestration, Instance: "i", Input: raw(p)}},
			enc{"Result " + p, Message{Kind: MsgActivityCompleted, Instance: "i", Result: raw(p)}},
			enc{"Data " + p, Message{Kind: MsgExternalRaised, Instance: "i", Data: raw(p)}},
			enc{"CarryForward " + p, Message{Kind: MsgContinueAsNew, Instance: "i",
				CarryForward: []CarriedEvent{{Name: "bad", Data: raw(p)}}}},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeMessage(c.msg)
			if err == nil {
				t.Fatalf("EncodeMessage = %s, want an error", b)
			}
			if !errors.Is(err, ErrCodec) {
				t.Errorf("error %q does not wrap ErrCodec", err)
			}
			if b != nil {
				t.Errorf("EncodeMessage returned bytes with its error: %s", b)
			}
		})
	}
}
