package history

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// CodecVersion is the version written by EncodeEvent and EncodeMessage. Decoding accepts
// every version up to it and rejects later ones, so an old binary never misreads a
// history written by a newer one.
const CodecVersion = 1

// ErrCodec is wrapped by every encoding and decoding failure.
var ErrCodec = errors.New("history codec")

type eventEnvelope struct {
	V int `json:"v"`
	Event
}

type messageEnvelope struct {
	V int `json:"v"`
	Message
}

// EncodeEvent renders an event as versioned JSON. Payloads are written byte for byte
// (only whitespace around a payload is dropped), so DecodeEvent gives them back exactly.
func EncodeEvent(e Event) ([]byte, error) {
	if !e.Kind.Valid() {
		return nil, fmt.Errorf("%w: encode event %d: unknown kind %q", ErrCodec, e.EventID, e.Kind)
	}
	if err := checkPayloads(e.Input, e.Output, e.Result, e.Data); err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrCodec, e, err)
	}
	if err := checkCarried(e.CarryForward); err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrCodec, e, err)
	}
	skel := e
	skel.Input, skel.Output, skel.Result, skel.Data, skel.CarryForward = nil, nil, nil, nil, nil
	b, err := json.Marshal(eventEnvelope{V: CodecVersion, Event: skel})
	if err == nil {
		var carried json.RawMessage
		if carried, err = encodeCarried(e.CarryForward); err == nil {
			b = withRawMembers(b, rawMember{"input", e.Input}, rawMember{"output", e.Output},
				rawMember{"result", e.Result}, rawMember{"data", e.Data}, rawMember{"carry_forward", carried})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrCodec, e, err)
	}
	return b, nil
}

// DecodeEvent parses what EncodeEvent wrote. It fails with ErrCodec on malformed JSON,
// an unknown version or an unknown kind.
func DecodeEvent(b []byte) (Event, error) {
	var env eventEnvelope
	if err := strictUnmarshal(b, &env); err != nil {
		return Event{}, fmt.Errorf("%w: decode event: %w", ErrCodec, err)
	}
	if env.V < 1 || env.V > CodecVersion {
		return Event{}, fmt.Errorf("%w: decode event: unsupported codec version %d (this build reads 1..%d)", ErrCodec, env.V, CodecVersion)
	}
	if !env.Kind.Valid() {
		return Event{}, fmt.Errorf("%w: decode event %d: unknown kind %q", ErrCodec, env.EventID, env.Kind)
	}
	return env.Event, nil
}

// EncodeMessage renders an orchestrator-queue message as versioned JSON, keeping payload
// bytes as EncodeEvent does.
func EncodeMessage(m Message) ([]byte, error) {
	if !m.Kind.valid() {
		return nil, fmt.Errorf("%w: encode message: unknown kind %q", ErrCodec, m.Kind)
	}
	if err := checkPayloads(m.Input, m.Result, m.Data); err != nil {
		return nil, fmt.Errorf("%w: encode %s message for %q: %w", ErrCodec, m.Kind, m.Instance, err)
	}
	if err := checkCarried(m.CarryForward); err != nil {
		return nil, fmt.Errorf("%w: encode %s message for %q: %w", ErrCodec, m.Kind, m.Instance, err)
	}
	skel := m
	skel.Input, skel.Result, skel.Data, skel.CarryForward = nil, nil, nil, nil
	b, err := json.Marshal(messageEnvelope{V: CodecVersion, Message: skel})
	if err == nil {
		var carried json.RawMessage
		if carried, err = encodeCarried(m.CarryForward); err == nil {
			b = withRawMembers(b, rawMember{"input", m.Input}, rawMember{"result", m.Result},
				rawMember{"data", m.Data}, rawMember{"carry_forward", carried})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s message: %w", ErrCodec, m.Kind, err)
	}
	return b, nil
}

// DecodeMessage parses what EncodeMessage wrote.
func DecodeMessage(b []byte) (Message, error) {
	var env messageEnvelope
	if err := strictUnmarshal(b, &env); err != nil {
		return Message{}, fmt.Errorf("%w: decode message: %w", ErrCodec, err)
	}
	if env.V < 1 || env.V > CodecVersion {
		return Message{}, fmt.Errorf("%w: decode message: unsupported codec version %d (this build reads 1..%d)", ErrCodec, env.V, CodecVersion)
	}
	if !env.Kind.valid() {
		return Message{}, fmt.Errorf("%w: decode message: unknown kind %q", ErrCodec, env.Kind)
	}
	return env.Message, nil
}

func (k MessageKind) valid() bool {
	switch k {
	case MsgStartOrchestration, MsgContinueAsNew, MsgActivityCompleted, MsgActivityFailed,
		MsgTimerFired, MsgExternalRaised, MsgQueueMessage, MsgSubOrchCompleted, MsgSubOrchFailed,
		MsgCancelInstance, MsgContinue:
		return true
	}
	return false
}

// strictUnmarshal decodes exactly one JSON value; trailing data is an error. Unknown
// fields are allowed so that a newer minor writer stays readable.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return errors.New("trailing data after JSON value")
	}
	return nil
}

// checkPayloads rejects raw payloads that are not valid JSON: json.Marshal would fail on
// them with a less helpful message, and a stored invalid payload could never replay.
func checkPayloads(payloads ...json.RawMessage) error {
	for _, p := range payloads {
		if len(p) > 0 && !json.Valid(p) {
			return fmt.Errorf("payload is not valid JSON: %s", shortString(string(p)))
		}
	}
	return nil
}

func checkCarried(carried []CarriedEvent) error {
	for _, c := range carried {
		if err := checkPayloads(c.Data); err != nil {
			return fmt.Errorf("carried event %q: %w", c.Name, err)
		}
	}
	return nil
}

// rawMember is an object member whose value is written as is.
type rawMember struct {
	key string
	raw json.RawMessage
}

// withRawMembers appends the non-empty members to obj, a non-empty JSON object as
// json.Marshal writes it. json.Marshal itself would compact a json.RawMessage and escape
// <, > and & in it; replay compares payloads byte for byte, so they are spliced in as is.
// The raw values must be valid JSON (checkPayloads).
func withRawMembers(obj []byte, members ...rawMember) []byte {
	out := obj[:len(obj)-1] // drop the closing brace
	for _, m := range members {
		if len(m.raw) == 0 {
			continue
		}
		out = append(out, `,"`...)
		out = append(out, m.key...)
		out = append(out, `":`...)
		out = append(out, bytes.TrimSpace(m.raw)...)
	}
	return append(out, '}')
}

// encodeCarried renders carried events as json.Marshal would, but keeps their Data as is.
func encodeCarried(carried []CarriedEvent) (json.RawMessage, error) {
	if len(carried) == 0 {
		return nil, nil
	}
	out := []byte{'['}
	for i, c := range carried {
		if i > 0 {
			out = append(out, ',')
		}
		data := c.Data
		c.Data = nil
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out = append(out, withRawMembers(b, rawMember{"data", data})...)
	}
	return append(out, ']'), nil
}
