// Command chatbot shows an actor over an event queue: the ChatBot orchestration takes one
// message from its "inbox" queue per execution, answers it with an activity, publishes
// the reply as its custom status, and continues as new, so it can chat forever with a
// bounded history. Messages sent while it works wait in the queue and survive the
// continue-as-new. The client follows the replies with WaitForStatusChange.
//
//	go run ./examples/chatbot          # uses ./chatbot.db (or -db PATH)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/sqlitestore"
	"github.com/duroxide-go/duroxide/yield"
)

// Message is what users send to the bot's inbox.
type Message struct {
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

// Status is the bot's custom status after each reply.
type Status struct {
	State        string `json:"state"`
	LastResponse string `json:"last_response"`
	MsgSeq       int    `json:"msg_seq"`
}

// ChatBot answers one message per execution; "bye" ends the conversation.
func ChatBot(ctx *yield.Ctx, _ yield.Value) (any, error) {
	msg, err := yield.Await[Message](ctx, ctx.DequeueEvent("inbox"))
	if err != nil {
		return nil, err
	}
	reply, err := yield.Await[string](ctx, ctx.ScheduleActivity("GenerateResponse", msg.Text))
	if err != nil {
		return nil, err
	}
	status, err := json.Marshal(Status{State: "replied", LastResponse: reply, MsgSeq: msg.Seq})
	if err != nil {
		return nil, err
	}
	ctx.SetCustomStatus(string(status))
	if strings.Contains(strings.ToLower(msg.Text), "bye") {
		return fmt.Sprintf("Chat ended after %d messages", msg.Seq), nil
	}
	return ctx.Yield(ctx.ContinueAsNew(nil))
}

func generateResponse(_ *duroxide.ActivityContext, in yield.Value) (any, error) {
	return "Echo: " + in.String(), nil
}

func main() {
	dbPath := flag.String("db", "chatbot.db", "SQLite database file")
	flag.Parse()
	if err := run(context.Background(), *dbPath, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chatbot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dbPath string, out io.Writer) error {
	store, err := sqlitestore.Open(dbPath)
	if err != nil {
		return err
	}
	defer store.Close()
	rt, err := duroxide.NewRuntime(store, duroxide.RuntimeOptions{DispatcherPollInterval: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := rt.RegisterActivity("GenerateResponse", generateResponse); err != nil {
		return err
	}
	if err := rt.RegisterOrchestration("ChatBot", ChatBot); err != nil {
		return err
	}
	if err := rt.Start(ctx); err != nil {
		return err
	}
	defer rt.Shutdown(5 * time.Second)

	client := duroxide.NewClient(store)
	id := fmt.Sprintf("chat-%d", time.Now().UnixNano())
	if err := client.StartOrchestration(ctx, id, "ChatBot", nil); err != nil {
		return err
	}
	var version uint64
	for seq, text := range []string{"Hello!", "How are you?", "Bye!"} {
		if err := client.EnqueueEvent(ctx, id, "inbox", Message{Seq: seq + 1, Text: text}); err != nil {
			return err
		}
		fmt.Fprintf(out, "user: %s\n", text)
		// Follow the status until the bot has answered this message.
		for {
			res, err := client.WaitForStatusChange(ctx, id, version, 10*time.Millisecond, 30*time.Second)
			if err != nil {
				return err
			}
			version = res.CustomStatusVersion
			var st Status
			if res.CustomStatus != nil {
				if err := json.Unmarshal([]byte(*res.CustomStatus), &st); err != nil {
					return err
				}
			}
			if st.MsgSeq == seq+1 {
				fmt.Fprintf(out, "bot:  %s\n", st.LastResponse)
				break
			}
		}
	}
	res, err := client.WaitForOrchestration(ctx, id, 30*time.Second)
	if err != nil {
		return err
	}
	execs, err := client.ListExecutions(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "result: %s (%d executions)\n", res.Output.Raw(), len(execs))
	return nil
}
