package history

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// Decoding may turn an empty carry_forward array into an empty, non-nil slice that
// re-encodes as absent (nil): both mean "none". Payloads are compared byte for byte.
var fixedPointOpts = cmp.Options{cmpopts.EquateEmpty()}

// eventFuzzSeeds are malformed or unusual inputs added to the encoded samples.
var eventFuzzSeeds = []string{
	``,
	`{}`,
	`null`,
	`{"v":1,"id":1,"type":"ActivityScheduled","name":"A","input":{"b":1,"a":2}`,
	`{"v":0,"id":1,"type":"TimerCreated","fire_at":5}`,
	`{"v":2,"id":1,"type":"TimerCreated","fire_at":5}`,
	`{"v":1,"id":18446744073709551615,"src":18446744073709551615,"ts":-9223372036854775808,"type":"TimerFired","fire_at":9223372036854775807}`,
	`{"v":1,"id":18446744073709551616,"type":"TimerFired"}`,
	`{"v":1,"id":1,"type":"ExternalEvent","name":"Grüße 🚀","data":"\ud83d\ude80 \u00e9 <&>"}`,
	`{"v":1,"id":1,"type":"ExternalEvent","name":"e","data":[1, 2, {"a" : 1.0}]}`,
	`{"v":1,"id":1,"type":"OrchestrationStarted","name":"O","carry_forward":[],"initial_custom_status":""}`,
	`{"v":1,"id":1,"type":"OrchestrationFailed","error":{}}`,
	`{"v":1,"id":1,"type":"CustomStatusUpdated","status":null}`,
	`{"v":1,"type":"KeyValuesCleared"} {"v":1}`,
	"{\"v\":1,\"type\":\"KeyValueSet\",\"key\":\"\xff\",\"value\":\"\\ud800\"}",
}

// messageFuzzSeeds are malformed or unusual inputs added to the encoded samples.
var messageFuzzSeeds = []string{
	``,
	`{}`,
	`{"v":1,"type":"ExternalRaised","instance":"i","name":"e","data":{"b":1,"a":2}`,
	`{"v":0,"type":"CancelInstance","instance":"i"}`,
	`{"v":2,"type":"CancelInstance","instance":"i"}`,
	`{"v":1,"type":"TimerFired","instance":"i","execution":18446744073709551615,"id":18446744073709551615,"fire_at":-9223372036854775808}`,
	`{"v":1,"type":"TimerFired","instance":"i","fire_at":9223372036854775808}`,
	`{"v":1,"type":"QueueMessage","instance":"订单","name":"q","data":"\u2028 <&> 🚀"}`,
	`{"v":1,"type":"ContinueAsNew","instance":"i","carry_forward":[{"name":"a","data":[1, 2]},{"queue":true,"name":"b"}]}`,
	`{"v":1,"type":"SubOrchFailed","instance":"i","error":{"category":"poison","attempts":-1}}`,
}

func FuzzDecodeEvent(f *testing.F) {
	for _, c := range sampleEvents() {
		b, err := EncodeEvent(c.event)
		if err != nil {
			f.Fatalf("%s: %v", c.name, err)
		}
		f.Add(b)
	}
	for _, s := range eventFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e1, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrCodec) {
				t.Fatalf("DecodeEvent error %q does not wrap ErrCodec", err)
			}
			return
		}
		if !e1.Kind.Valid() {
			t.Fatalf("DecodeEvent accepted unknown kind %q", e1.Kind)
		}
		_ = e1.String()
		b2, err := EncodeEvent(e1)
		if err != nil {
			t.Fatalf("re-encoding a decoded event failed: %v\nevent: %#v", err, e1)
		}
		e2, err := DecodeEvent(b2)
		if err != nil {
			t.Fatalf("decoding a re-encoded event failed: %v\nencoded: %s", err, b2)
		}
		if diff := cmp.Diff(e1, e2, fixedPointOpts); diff != "" {
			t.Fatalf("decode -> encode -> decode changed the event (-first +second):\n%s\ninput:     %q\nre-encoded: %q", diff, b, b2)
		}
		b3, err := EncodeEvent(e2)
		if err != nil {
			t.Fatalf("third encoding failed: %v", err)
		}
		if !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not a fixed point:\n second: %q\n  third: %q", b2, b3)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	for _, c := range sampleMessages() {
		b, err := EncodeMessage(c.msg)
		if err != nil {
			f.Fatalf("%s: %v", c.name, err)
		}
		f.Add(b)
	}
	for _, s := range messageFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m1, err := DecodeMessage(b)
		if err != nil {
			if !errors.Is(err, ErrCodec) {
				t.Fatalf("DecodeMessage error %q does not wrap ErrCodec", err)
			}
			return
		}
		if !m1.Kind.valid() {
			t.Fatalf("DecodeMessage accepted unknown kind %q", m1.Kind)
		}
		b2, err := EncodeMessage(m1)
		if err != nil {
			t.Fatalf("re-encoding a decoded message failed: %v\nmessage: %#v", err, m1)
		}
		m2, err := DecodeMessage(b2)
		if err != nil {
			t.Fatalf("decoding a re-encoded message failed: %v\nencoded: %s", err, b2)
		}
		if diff := cmp.Diff(m1, m2, fixedPointOpts); diff != "" {
			t.Fatalf("decode -> encode -> decode changed the message (-first +second):\n%s\ninput:     %q\nre-encoded: %q", diff, b, b2)
		}
		b3, err := EncodeMessage(m2)
		if err != nil {
			t.Fatalf("third encoding failed: %v", err)
		}
		if !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not a fixed point:\n second: %q\n  third: %q", b2, b3)
		}
	})
}
