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

// EncodeEvent renders an event as versioned JSON.
func EncodeEvent(e Event) ([]byte, error) {
	if !e.Kind.Valid() {
		return nil, fmt.Errorf("%w: encode event %d: unknown kind %q", ErrCodec, e.EventID, e.Kind)
	}
	if err := checkPayloads(e.Input, e.Output, e.Result, e.Data); err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrCodec, e, err)
	}
	b, err := json.Marshal(eventEnvelope{V: CodecVersion, Event: e})
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

// EncodeMessage renders an orchestrator-queue message as versioned JSON.
func EncodeMessage(m Message) ([]byte, error) {
	if !m.Kind.valid() {
		return nil, fmt.Errorf("%w: encode message: unknown kind %q", ErrCodec, m.Kind)
	}
	if err := checkPayloads(m.Input, m.Result, m.Data); err != nil {
		return nil, fmt.Errorf("%w: encode %s message for %q: %w", ErrCodec, m.Kind, m.Instance, err)
	}
	b, err := json.Marshal(messageEnvelope{V: CodecVersion, Message: m})
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
