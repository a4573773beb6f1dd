package duroxide

import (
	"context"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// Activity is the signature of activity code: ordinary Go that may do I/O. Its return
// value is the activity's result; an error (or a panic) fails it, and the orchestration
// sees "Activity '<name>' call failed: <message>".
type Activity func(ctx *ActivityContext, input yield.Value) (any, error)

// ActivityContext describes the running activity and lets it notice cancellation.
type ActivityContext struct {
	work      history.ActivityWork
	workerID  string
	ctx       context.Context
	cancel    context.CancelFunc
	cancelled atomic.Bool
	stopping  atomic.Bool // cancelled because the runtime stops, not because it is unneeded
	client    *Client
	log       zerolog.Logger
}

// InstanceID is the orchestration instance that scheduled the activity.
func (a *ActivityContext) InstanceID() string { return a.work.Instance }

// ExecutionID is the execution of the instance that scheduled the activity.
func (a *ActivityContext) ExecutionID() uint64 { return a.work.ExecutionID }

// OrchestrationName is the name of the orchestration that scheduled the activity.
func (a *ActivityContext) OrchestrationName() string { return a.work.OrchestrationName }

// OrchestrationVersion is the version of the orchestration that scheduled the activity.
func (a *ActivityContext) OrchestrationVersion() string { return a.work.OrchestrationVersion }

// ActivityName is the activity's registered name.
func (a *ActivityContext) ActivityName() string { return a.work.Name }

// ActivityID is the id of the ActivityScheduled event this execution answers.
func (a *ActivityContext) ActivityID() uint64 { return a.work.ID }

// WorkerID names the worker running the activity.
func (a *ActivityContext) WorkerID() string { return a.workerID }

// SessionID is the session the activity was routed to, if any.
func (a *ActivityContext) SessionID() (string, bool) { return a.work.SessionID, a.work.SessionID != "" }

// Tag is the activity's routing tag, if any.
func (a *ActivityContext) Tag() (string, bool) { return a.work.Tag, a.work.Tag != "" }

// IsCancelled reports whether the orchestration no longer needs the result: it lost a
// race, the instance was cancelled or finished, or the activity's lock was lost. Long
// activities should check it (or Context().Done()) and return early.
func (a *ActivityContext) IsCancelled() bool { return a.cancelled.Load() }

// markCancelled flips IsCancelled and cancels Context.
func (a *ActivityContext) markCancelled() {
	if a.cancelled.CompareAndSwap(false, true) {
		a.cancel()
	}
}

// Context is cancelled together with IsCancelled, and when the runtime shuts down.
func (a *ActivityContext) Context() context.Context { return a.ctx }

// Client is a client on the runtime's store, for activities that manage instances.
func (a *ActivityContext) Client() *Client { return a.client }

// TraceInfo logs msg at info level with the activity's fields.
func (a *ActivityContext) TraceInfo(msg string) { a.log.Info().Msg(msg) }

// TraceWarn logs msg at warn level with the activity's fields.
func (a *ActivityContext) TraceWarn(msg string) { a.log.Warn().Msg(msg) }

// TraceError logs msg at error level with the activity's fields.
func (a *ActivityContext) TraceError(msg string) { a.log.Error().Msg(msg) }

// TraceDebug logs msg at debug level with the activity's fields.
func (a *ActivityContext) TraceDebug(msg string) { a.log.Debug().Msg(msg) }
