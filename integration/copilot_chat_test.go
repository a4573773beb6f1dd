package integration_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

// Port of the Python SDK's tests/test_copilot_chat.py (python-sdk.md §3.11): a multi-turn
// chat over an event queue, replies published as custom status, history bounded by
// continue-as-new, the client polling with WaitForStatusChange.

// cChatStatus is the custom status the ChatBot publishes.
type cChatStatus struct {
	State        string `json:"state"`
	LastResponse string `json:"last_response"`
	MsgSeq       int    `json:"msg_seq"`
}

// cWaitForChatState is the Python wait_for_chat_state: poll WaitForStatusChange until the
// custom status has the expected state and seq, within timeout. version carries the last
// custom status version seen from call to call.
func cWaitForChatState(s *scenario, instanceID string, version *uint64, expectedState string, expectedSeq int, timeout time.Duration) (cChatStatus, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		remaining := max(100*time.Millisecond, time.Until(deadline))
		status, err := s.client.WaitForStatusChange(s.ctx, instanceID, *version, 50*time.Millisecond, remaining)
		if err != nil && !errors.Is(err, duroxide.ErrTimeout) {
			return cChatStatus{}, err
		}
		if err == nil && status.CustomStatus != nil {
			*version = status.CustomStatusVersion
			var cs cChatStatus
			if err := json.Unmarshal([]byte(*status.CustomStatus), &cs); err != nil {
				return cChatStatus{}, fmt.Errorf("custom status %q: %w", *status.CustomStatus, err)
			}
			if cs.State == expectedState && cs.MsgSeq == expectedSeq {
				return cs, nil
			}
		}
	}
	return cChatStatus{}, fmt.Errorf("timeout waiting for state=%s seq=%d", expectedState, expectedSeq)
}

// test_copilot_chat.py::test_copilot_chat_scenario
func TestCopilotChat_CopilotChatScenario(t *testing.T) {
	eachStore(t, func(t *testing.T, s *scenario) {
		rt := s.runtime(duroxide.RuntimeOptions{DispatcherPollInterval: 50 * time.Millisecond})
		activity(t, rt, "GenerateResponse", func(ctx *duroxide.ActivityContext, userMsg yield.Value) (any, error) {
			return "Echo: " + userMsg.String(), nil
		})
		orchestration(t, rt, "ChatBot", func(ctx *yield.Ctx, in yield.Value) (any, error) {
			// Dequeue the next message (blocks until available). The client enqueues a
			// JSON text, as the Python test does, so the message is a string to parse.
			msgJSON, err := ctx.Yield(ctx.DequeueEvent("inbox"))
			if err != nil {
				return nil, err
			}
			var msg struct {
				Seq  int    `json:"seq"`
				Text string `json:"text"`
			}
			if err := json.Unmarshal([]byte(msgJSON.String()), &msg); err != nil {
				return nil, fmt.Errorf("inbox message %s: %w", msgJSON, err)
			}

			// Call the "LLM" activity.
			response, err := ctx.Yield(ctx.ScheduleActivity("GenerateResponse", msg.Text))
			if err != nil {
				return nil, err
			}

			// Publish the reply via custom status.
			status, err := json.Marshal(cChatStatus{State: "replied", LastResponse: response.String(), MsgSeq: msg.Seq})
			if err != nil {
				return nil, err
			}
			ctx.SetCustomStatus(string(status))

			if strings.Contains(strings.ToLower(msg.Text), "bye") {
				return fmt.Sprintf("Chat ended after %d messages", msg.Seq), nil
			}

			// Continue as new: custom status and queued events carry forward.
			return ctx.Yield(ctx.ContinueAsNew(""))
		})
		s.start(rt)
		defer s.shutdown(rt)

		instanceID := uid("chat")
		s.startOrch(instanceID, "ChatBot", "")
		var version uint64
		enqueueJSON := func(seq int, text string) {
			t.Helper()
			b, err := json.Marshal(map[string]any{"seq": seq, "text": text})
			if err != nil {
				t.Fatal(err)
			}
			s.enqueue(instanceID, "inbox", string(b))
		}

		// Turn 1: "Hello!". Python sleeps 0.3 s first to let the orchestration subscribe;
		// queue messages are kept until dequeued (DECISIONS 2), so enqueue at once.
		enqueueJSON(1, "Hello!")
		cs1, err := cWaitForChatState(s, instanceID, &version, "replied", 1, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "turn 1 last_response", cs1.LastResponse, "Echo: Hello!")

		// Turn 2: "How are you?".
		enqueueJSON(2, "How are you?")
		cs2, err := cWaitForChatState(s, instanceID, &version, "replied", 2, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "turn 2 last_response", cs2.LastResponse, "Echo: How are you?")

		// Turn 3: "Bye!": the orchestration completes.
		enqueueJSON(3, "Bye!")
		result := s.wait(instanceID, 10*time.Second)
		equal(t, "output", mustComplete[string](t, result), "Chat ended after 3 messages")
		if result.CustomStatus == nil {
			t.Fatal("final custom status is nil")
		}
		var finalCS cChatStatus
		if err := json.Unmarshal([]byte(*result.CustomStatus), &finalCS); err != nil {
			t.Fatal(err)
		}
		equal(t, "final custom status", finalCS, cChatStatus{State: "replied", LastResponse: "Echo: Bye!", MsgSeq: 3})
	})
}
