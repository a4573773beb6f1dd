package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "chatbot.db"), &out); err != nil {
		t.Fatal(err)
	}
	want := `user: Hello!
bot:  Echo: Hello!
user: How are you?
bot:  Echo: How are you?
user: Bye!
bot:  Echo: Bye!
result: "Chat ended after 3 messages" (3 executions)
`
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
