package duroxide_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/sqlitestore"
)

// FuzzClientInputs sends fuzzed instance ids, orchestration and event names and payloads
// through the client to an in-memory SQLite store. Valid input is stored exactly (it
// reads back byte for byte); invalid input gives ErrInvalidInput and stores nothing.
func FuzzClientInputs(f *testing.F) {
	for _, s := range []struct {
		id, name, event string
		payload         []byte
	}{
		{"order-1", "Process", "approved", []byte(`{"amount":12.5,"items":[1,2]}`)},
		{"", "Process", "e", []byte(`1`)},
		{"id", "", "e", []byte(`1`)},
		{"id", "Process", "", []byte(`1`)},
		{"a\nb", "P", "e", []byte(`null`)},
		{"a\x00b", "P", "e", []byte(`"x"`)},
		{"訂單-🚀", "Grüße", "événement", []byte(`"\u2028 <&>"`)},
		{strings.Repeat("x", duroxide.MaxNameBytes), "P", "e", []byte(`[]`)},
		{strings.Repeat("x", duroxide.MaxNameBytes+1), "P", "e", []byte(`[]`)},
		{"bad-utf8-\xff", "P", "e", []byte(`{}`)},
		{"json", "P", "e", []byte(`{"unterminated":`)},
		{"json2", "P", "e", []byte(`  {"spaced" : true}  `)},
		{"json3", "P", "e", []byte(`1e400`)},
		{"sql", "P'; DROP TABLE instances; --", "e", []byte(`"'"`)},
		{"ws", " P ", "e e", []byte(``)},
	} {
		f.Add(s.id, s.name, s.event, s.payload)
	}
	store, err := sqlitestore.InMemory()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = store.Close() })
	c := duroxide.NewClient(store)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, id, name, event string, payload []byte) {
		_, existedErr := store.InstanceState(ctx, id)
		existed := existedErr == nil
		var input any
		if payload != nil {
			input = json.RawMessage(payload)
		}
		validPayload := len(payload) == 0 || json.Valid(payload)
		valid := validName(id) && validName(name) && validPayload
		err := c.StartOrchestration(ctx, id, name, input)
		switch {
		case !valid:
			if !errors.Is(err, duroxide.ErrInvalidInput) {
				t.Fatalf("start(%q, %q, %q): %v, want ErrInvalidInput", id, name, payload, err)
			}
			if _, err := store.InstanceState(ctx, id); !existed && !errors.Is(err, history.ErrNotFound) {
				t.Fatalf("refused start of %q left a row (%v)", id, err)
			}
		case existed:
			if !errors.Is(err, duroxide.ErrAlreadyExists) {
				t.Fatalf("second start of %q: %v, want ErrAlreadyExists", id, err)
			}
		default:
			if err != nil {
				t.Fatalf("start(%q, %q, %q): %v", id, name, payload, err)
			}
			st, err := store.InstanceState(ctx, id)
			if err != nil || st.Instance != id || st.Name != name {
				t.Fatalf("stored instance %q/%q reads back as %q/%q (%v)", id, name, st.Instance, st.Name, err)
			}
		}
		if !validName(id) {
			return
		}
		stored := existed || valid
		err = c.RaiseEvent(ctx, id, event, input)
		switch {
		case !validName(event) || !validPayload:
			if !errors.Is(err, duroxide.ErrInvalidInput) {
				t.Fatalf("raise(%q, %q, %q): %v, want ErrInvalidInput", id, event, payload, err)
			}
		case !stored:
			if !errors.Is(err, duroxide.ErrNotFound) {
				t.Fatalf("raise to unknown %q: %v, want ErrNotFound", id, err)
			}
		default:
			if err != nil {
				t.Fatalf("raise(%q, %q, %q): %v", id, event, payload, err)
			}
		}
	})
}

// validName mirrors the client's rules for names and ids.
func validName(s string) bool {
	return s != "" && len(s) <= duroxide.MaxNameBytes && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}
