package duroxide

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/internal/semver"
	"github.com/duroxide-go/duroxide/yield"
)

// Client starts, signals, inspects and waits for orchestration instances. It talks only
// to the store, so it works from any process that reaches the store.
type Client struct {
	store      history.Store
	maxPayload int
}

// NewClient returns a client on store.
func NewClient(store history.Store) *Client {
	return &Client{store: store, maxPayload: yield.DefaultMaxPayloadBytes}
}

// WithMaxPayloadBytes returns a copy of the client that accepts inputs, events and queue
// messages of up to n bytes (the default is 16 MiB); n <= 0 keeps the default.
func (c *Client) WithMaxPayloadBytes(n int) *Client {
	cp := *c
	if n > 0 {
		cp.maxPayload = n
	}
	return &cp
}

func (c *Client) encodePayload(what string, v any) (yield.Value, error) {
	val, err := yield.ValueOf(v)
	if err != nil {
		return yield.Value{}, fmt.Errorf("%w: %s: %v", ErrInvalidInput, what, err)
	}
	if n := len(val.Raw()); n > c.maxPayload {
		return yield.Value{}, invalid("%s is %d bytes (limit %d)", what, n, c.maxPayload)
	}
	return val, nil
}

func payload(v yield.Value) []byte {
	if v.IsNull() {
		return nil
	}
	return v.Raw()
}

// StartOrchestration creates instance instanceID running the latest version of the
// orchestration name with input. The instance exists when it returns; an id in use gives
// an error wrapping ErrAlreadyExists.
func (c *Client) StartOrchestration(ctx context.Context, instanceID, name string, input any) error {
	return c.start(ctx, instanceID, name, input, "")
}

// StartOrchestrationVersioned is StartOrchestration pinned to version.
func (c *Client) StartOrchestrationVersioned(ctx context.Context, instanceID, name string, input any, version string) error {
	if _, err := semver.Parse(version); err != nil {
		return invalid("orchestration %q: %v", name, err)
	}
	return c.start(ctx, instanceID, name, input, version)
}

func (c *Client) start(ctx context.Context, instanceID, name string, input any, version string) error {
	if err := checkName("instance", instanceID); err != nil {
		return err
	}
	if err := checkName("orchestration", name); err != nil {
		return err
	}
	in, err := c.encodePayload("input", input)
	if err != nil {
		return err
	}
	msg := history.Message{Kind: history.MsgStartOrchestration, Instance: instanceID, ExecutionID: 1, Name: name, Version: version, Input: payload(in)}
	if err := c.store.CreateInstance(ctx, msg); err != nil {
		return fmt.Errorf("start %q: %w", instanceID, err)
	}
	return nil
}

// RaiseEvent delivers an event to the instance's WaitForEvent(eventName). Unknown
// instances give ErrNotFound; a finished instance ignores it.
func (c *Client) RaiseEvent(ctx context.Context, instanceID, eventName string, data any) error {
	return c.send(ctx, history.MsgExternalRaised, instanceID, eventName, data)
}

// EnqueueEvent appends a message to the instance's queue queueName (DequeueEvent).
func (c *Client) EnqueueEvent(ctx context.Context, instanceID, queueName string, data any) error {
	return c.send(ctx, history.MsgQueueMessage, instanceID, queueName, data)
}

func (c *Client) send(ctx context.Context, kind history.MessageKind, instanceID, name string, data any) error {
	if err := checkName("instance", instanceID); err != nil {
		return err
	}
	if err := checkName("event", name); err != nil {
		return err
	}
	d, err := c.encodePayload("event data", data)
	if err != nil {
		return err
	}
	if err := c.store.SendMessage(ctx, history.Message{Kind: kind, Instance: instanceID, Name: name, Data: payload(d)}); err != nil {
		return fmt.Errorf("send %s to %q: %w", name, instanceID, err)
	}
	return nil
}

// CancelInstance asks the instance to stop: it fails with "canceled: <reason>", its
// children are cancelled and its running activities see IsCancelled.
func (c *Client) CancelInstance(ctx context.Context, instanceID, reason string) error {
	if err := checkName("instance", instanceID); err != nil {
		return err
	}
	if err := c.store.SendMessage(ctx, history.Message{Kind: history.MsgCancelInstance, Instance: instanceID, Reason: reason}); err != nil {
		return fmt.Errorf("cancel %q: %w", instanceID, err)
	}
	return nil
}

// GetStatus reads the instance's status; an unknown instance gives Status NotFound and
// no error.
func (c *Client) GetStatus(ctx context.Context, instanceID string) (OrchestrationResult, error) {
	st, err := c.store.InstanceState(ctx, instanceID)
	if errors.Is(err, history.ErrNotFound) {
		return OrchestrationResult{InstanceID: instanceID, Status: StatusNotFound}, nil
	}
	if err != nil {
		return OrchestrationResult{}, fmt.Errorf("status of %q: %w", instanceID, err)
	}
	return resultFromState(st), nil
}

// WaitForOrchestration waits until the instance completes or fails, the timeout passes
// (ErrTimeout; 0 means no timeout) or ctx ends. An unknown instance gives ErrNotFound at once.
func (c *Client) WaitForOrchestration(ctx context.Context, instanceID string, timeout time.Duration) (OrchestrationResult, error) {
	return c.waitFor(ctx, instanceID, timeout, 0, func(r OrchestrationResult) bool { return r.IsTerminal() })
}

// WaitForStatusChange waits until the instance's custom status version exceeds
// lastSeenVersion or the instance finishes. pollInterval bounds the time between checks
// when the store cannot signal changes.
func (c *Client) WaitForStatusChange(ctx context.Context, instanceID string, lastSeenVersion uint64, pollInterval, timeout time.Duration) (OrchestrationResult, error) {
	return c.waitFor(ctx, instanceID, timeout, pollInterval, func(r OrchestrationResult) bool {
		return r.CustomStatusVersion > lastSeenVersion || r.IsTerminal()
	})
}

// waitFor polls the instance until done(result), waking early on store notifications.
func (c *Client) waitFor(ctx context.Context, instanceID string, timeout, maxPoll time.Duration, done func(OrchestrationResult) bool) (OrchestrationResult, error) {
	var res OrchestrationResult
	err := c.poll(ctx, instanceID, timeout, maxPoll, true, func() (bool, error) {
		var err error
		if res, err = c.GetStatus(ctx, instanceID); err != nil {
			return false, err
		}
		if res.Status == StatusNotFound {
			return false, fmt.Errorf("wait for %q: %w", instanceID, ErrNotFound)
		}
		return done(res), nil
	})
	return res, err
}

// poll calls check until it reports done or fails, the timeout passes (ErrTimeout; 0
// means none) or ctx ends. Between checks it waits for a change of the instance signalled
// by the store, or a backing-off delay (5 ms doubling up to maxPoll, 250 ms by default)
// that catches changes made by other processes. statusOnly says check looks only at the
// status and custom status: on a store whose signals cover other processes for those
// (history.CrossProcessWatcher), the delay starts at maxPoll, a safety net.
func (c *Client) poll(ctx context.Context, instanceID string, timeout, maxPoll time.Duration, statusOnly bool, check func() (bool, error)) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var changed <-chan struct{}
	if n, ok := c.store.(history.Notifier); ok {
		ch, stop := n.WatchInstance(instanceID)
		defer stop()
		changed = ch
	}
	if maxPoll <= 0 {
		maxPoll = 250 * time.Millisecond
	}
	delay := 5 * time.Millisecond
	if w, ok := c.store.(history.CrossProcessWatcher); ok && statusOnly && changed != nil && w.WatchesAcrossProcesses() {
		delay = maxPoll
	}
	for {
		done, err := check()
		if err != nil {
			return waitErr(ctx, timeout, err)
		}
		if done {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return waitErr(ctx, timeout, ctx.Err())
		case <-changed:
		case <-t.C:
		}
		t.Stop()
		delay = min(delay*2, maxPoll)
	}
}

// waitErr turns the end of a wait into ErrTimeout when the wait's own timeout ended it.
func waitErr(ctx context.Context, timeout time.Duration, err error) error {
	if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s", ErrTimeout, timeout)
	}
	return err
}

// GetKVValue reads key from the instance's KV store.
func (c *Client) GetKVValue(ctx context.Context, instanceID, key string) (string, bool, error) {
	v, ok, err := c.store.GetKV(ctx, instanceID, key)
	if err != nil {
		return "", false, fmt.Errorf("kv %q of %q: %w", key, instanceID, err)
	}
	return v, ok, nil
}

// WaitForKVValue waits until key exists in the instance's KV store and returns it. An
// unknown instance gives ErrNotFound at once.
func (c *Client) WaitForKVValue(ctx context.Context, instanceID, key string, timeout time.Duration) (string, error) {
	if _, err := c.store.InstanceState(ctx, instanceID); err != nil {
		return "", fmt.Errorf("wait for kv %q of %q: %w", key, instanceID, err)
	}
	var v string
	err := c.poll(ctx, instanceID, timeout, 100*time.Millisecond, false, func() (bool, error) {
		var ok bool
		var err error
		v, ok, err = c.GetKVValue(ctx, instanceID, key)
		return ok, err
	})
	return v, err
}
