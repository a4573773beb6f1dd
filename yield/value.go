package yield

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
)

// Value is the raw JSON of an input or a result, passed through unchanged so that replay
// can compare payloads byte for byte. The zero Value is JSON null.
type Value struct {
	raw json.RawMessage
}

var nullJSON = json.RawMessage("null")

// ValueOf encodes v as JSON. A Value, *Value or json.RawMessage passes through unchanged
// (a RawMessage must be valid JSON); nil gives null. HTML characters are not escaped, so
// text keeps the form a Python json.dumps would give it.
func ValueOf(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return Value{}, nil
	case Value:
		return x, nil
	case *Value:
		if x == nil {
			return Value{}, nil
		}
		return *x, nil
	case json.RawMessage:
		if len(x) == 0 {
			return Value{}, nil
		}
		if !json.Valid(x) {
			return Value{}, fmt.Errorf("yield: json.RawMessage is not valid JSON: %.60q", x)
		}
		// Whitespace around the value is not kept by the history codec; dropping it here
		// keeps the payload byte-identical between a live run and its replay.
		return Value{raw: bytes.TrimSpace(x)}, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return Value{}, fmt.Errorf("yield: encode %T as JSON: %w", v, err)
	}
	return Value{raw: bytes.TrimRight(buf.Bytes(), "\n")}, nil
}

// RawValue wraps JSON text already encoded, without checking it. The runtime uses it for
// payloads read back from history.
func RawValue(raw json.RawMessage) Value { return Value{raw: raw} }

// mustValue is ValueOf for values the engine builds itself, which always encode.
func mustValue(v any) Value {
	val, err := ValueOf(v)
	if err != nil {
		panic(err)
	}
	return val
}

// stringValue is the JSON string holding s.
func stringValue(s string) Value { return mustValue(s) }

// Decode unmarshals the JSON into dst with encoding/json. Numbers decoded into an `any`
// stay exact as json.Number. Decoding null leaves dst unchanged for most types.
func (v Value) Decode(dst any) error {
	if p, ok := dst.(*Value); ok {
		*p = v
		return nil
	}
	var err error
	if holdsInterface(reflect.TypeOf(dst)) {
		dec := json.NewDecoder(bytes.NewReader(v.Raw()))
		dec.UseNumber()
		err = dec.Decode(dst)
	} else {
		err = json.Unmarshal(v.Raw(), dst) // no interface inside: UseNumber changes nothing
	}
	if err != nil {
		return fmt.Errorf("yield: decode %s into %T: %w", shortJSON(v.Raw()), dst, err)
	}
	return nil
}

var interfaceTypes sync.Map // reflect.Type -> bool

// holdsInterface reports whether decoding into t can produce an interface value, where
// numbers must stay json.Number. Types with custom unmarshalers count as holding one.
func holdsInterface(t reflect.Type) bool {
	if t == nil {
		return true
	}
	if v, ok := interfaceTypes.Load(t); ok {
		return v.(bool)
	}
	interfaceTypes.Store(t, true) // provisional answer for recursive types
	r := computeHoldsInterface(t, map[reflect.Type]bool{})
	interfaceTypes.Store(t, r)
	return r
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func computeHoldsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		return true
	}
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return computeHoldsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if computeHoldsInterface(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// Field gives the member name of a JSON object, as input["name"] would in Python. A
// missing member, or a Value that is not an object, gives null.
func (v Value) Field(name string) Value {
	var obj map[string]json.RawMessage
	if json.Unmarshal(v.raw, &obj) != nil {
		return Value{}
	}
	return Value{raw: obj[name]}
}

// Index gives element i of a JSON array, as input[i] would in Python. Out of range, or a
// Value that is not an array, gives null.
func (v Value) Index(i int) Value {
	var arr []json.RawMessage
	if json.Unmarshal(v.raw, &arr) != nil || i < 0 || i >= len(arr) {
		return Value{}
	}
	return Value{raw: arr[i]}
}

// Len gives the number of elements of a JSON array or members of an object, else 0.
func (v Value) Len() int {
	var arr []json.RawMessage
	if json.Unmarshal(v.raw, &arr) == nil {
		return len(arr)
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(v.raw, &obj) == nil {
		return len(obj)
	}
	return 0
}

// Raw gives the JSON text; null for the zero Value.
func (v Value) Raw() json.RawMessage {
	if len(v.raw) == 0 {
		return nullJSON
	}
	return v.raw
}

// String gives the text of a JSON string, and the JSON text of anything else.
func (v Value) String() string {
	raw := v.Raw()
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	return string(raw)
}

// IsNull reports whether the Value is JSON null.
func (v Value) IsNull() bool {
	return bytes.Equal(bytes.TrimSpace(v.Raw()), nullJSON)
}

// Equal reports whether two Values hold the same JSON text, byte for byte.
func (v Value) Equal(o Value) bool { return bytes.Equal(v.Raw(), o.Raw()) }

// MarshalJSON re-emits the JSON text unchanged.
func (v Value) MarshalJSON() ([]byte, error) { return v.Raw(), nil }

// UnmarshalJSON keeps a copy of the JSON text.
func (v *Value) UnmarshalJSON(b []byte) error {
	v.raw = append(json.RawMessage(nil), b...)
	return nil
}

// payload is the form stored in history: nil for null, so absent and null agree.
func (v Value) payload() json.RawMessage {
	if v.IsNull() {
		return nil
	}
	return v.raw
}

func shortJSON(b []byte) string {
	const max = 60
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
