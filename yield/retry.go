package yield

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Backoff chooses the wait between failed attempts of a retry policy.
type Backoff int

// The back-off strategies. The zero value is BackoffExponential.
const (
	// BackoffExponential waits BaseDelay x 2^(k-1) after the k-th failure (default).
	BackoffExponential Backoff = iota
	// BackoffFixed waits BaseDelay (1 s by default) after every failure.
	BackoffFixed
	// BackoffLinear waits BaseDelay x k after the k-th failure.
	BackoffLinear
	// BackoffNone retries at once.
	BackoffNone
)

func (b Backoff) String() string {
	switch b {
	case BackoffExponential:
		return "exponential"
	case BackoffFixed:
		return "fixed"
	case BackoffLinear:
		return "linear"
	case BackoffNone:
		return "none"
	}
	return fmt.Sprintf("Backoff(%d)", int(b))
}

// Retry policy defaults.
const (
	DefaultMaxAttempts      = 3
	DefaultBaseDelay        = 100 * time.Millisecond
	DefaultFixedDelay       = time.Second
	DefaultMaxDelay         = 30 * time.Second
	timeoutMessage          = "timeout: activity timed out"
	retryWarningFormat      = "Activity '%s' attempt %d/%d failed: %s. Retrying..."
	retrySessionWarnFormat  = "Activity '%s' (session=%s) attempt %d/%d failed: %s. Retrying..."
	totalTimeoutMessageForm = "timeout: activity '%s' exceeded its total timeout of %s after %d attempt(s): %s"
)

// RetryPolicy retries a failed activity. The retries are ordinary orchestration steps:
// each attempt is an activity and each wait a durable timer, all recorded in history.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first included; 0 means 3.
	MaxAttempts int
	// Backoff is the wait strategy between attempts.
	Backoff Backoff
	// Timeout bounds each attempt; a timed-out attempt is cancelled and not retried. 0 = none.
	Timeout time.Duration
	// TotalTimeout bounds all attempts and back-off waits together. 0 = none.
	TotalTimeout time.Duration
	// BaseDelay is the back-off unit; 0 means 100 ms (exponential, linear) or 1 s (fixed).
	BaseDelay time.Duration
	// MaxDelay caps a single back-off wait; 0 means 30 s.
	MaxDelay time.Duration
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("retry policy: MaxAttempts %d is negative", p.MaxAttempts)
	case p.Backoff < BackoffExponential || p.Backoff > BackoffNone:
		return fmt.Errorf("retry policy: unknown backoff %d", int(p.Backoff))
	case p.Timeout < 0 || p.TotalTimeout < 0 || p.BaseDelay < 0 || p.MaxDelay < 0:
		return errors.New("retry policy: durations must not be negative")
	}
	return nil
}

func (p RetryPolicy) attempts() int {
	if p.MaxAttempts == 0 {
		return DefaultMaxAttempts
	}
	return p.MaxAttempts
}

// DelayFor gives the back-off wait after the k-th failed attempt (k starts at 1).
func (p RetryPolicy) DelayFor(k int) time.Duration {
	if k < 1 {
		k = 1
	}
	maxDelay := p.MaxDelay
	if maxDelay == 0 {
		maxDelay = DefaultMaxDelay
	}
	base := p.BaseDelay
	var d time.Duration
	switch p.Backoff {
	case BackoffNone:
		return 0
	case BackoffFixed:
		if base == 0 {
			base = DefaultFixedDelay
		}
		return base
	case BackoffLinear:
		if base == 0 {
			base = DefaultBaseDelay
		}
		if int64(k) > int64(maxDelay/base)+1 {
			return maxDelay
		}
		d = base * time.Duration(k)
	default:
		if base == 0 {
			base = DefaultBaseDelay
		}
		f := float64(base) * math.Pow(2, float64(k-1))
		if f >= float64(maxDelay) {
			return maxDelay
		}
		d = time.Duration(f)
	}
	return min(d, maxDelay)
}

// retryBlock is the orchestration code of an activity with a retry policy. It runs as a
// block, so every attempt, timeout race and back-off wait is an ordinary recorded step.
func retryBlock(d *taskDesc) func(ctx *Ctx) (any, error) {
	p := *d.retry
	return func(ctx *Ctx) (any, error) {
		max := p.attempts()
		start := ctx.clockMs()
		deadline := start + p.TotalTimeout.Milliseconds()
		var lastErr error
		for attempt := 1; attempt <= max; attempt++ {
			var attemptTask Task = newTask(taskDesc{kind: kindActivity, name: d.name, input: d.input, sessionID: d.sessionID, tag: d.tag})
			if p.Timeout > 0 {
				attemptTask = ctx.Race(attemptTask, ctx.ScheduleTimer(p.Timeout))
			}
			if p.TotalTimeout > 0 {
				remaining := deadline - ctx.clockMs()
				if remaining <= 0 {
					return nil, totalTimeoutError(d.name, p, attempt-1, lastErr)
				}
				attemptTask = ctx.Race(attemptTask, ctx.ScheduleTimer(time.Duration(remaining)*time.Millisecond))
			}
			out := ctx.await(attemptTask) // tasks built here are valid: out.err is the activity's
			if p.TotalTimeout > 0 {
				if out.index == 1 {
					return nil, totalTimeoutError(d.name, p, attempt, lastErr)
				}
				out = *out.inner
			}
			if p.Timeout > 0 {
				if out.index == 1 {
					return nil, &TaskError{Kind: TaskErrTimeout, Message: timeoutMessage}
				}
				out = *out.inner
			}
			if out.err == nil {
				return out.value, nil
			}
			lastErr = out.err
			var te *TaskError
			if errors.As(out.err, &te) && te.NonRetryable {
				return nil, out.err
			}
			if attempt == max {
				break
			}
			delay := p.DelayFor(attempt)
			if p.TotalTimeout > 0 && ctx.clockMs()+delay.Milliseconds() >= deadline {
				return nil, totalTimeoutError(d.name, p, attempt, lastErr) // the next attempt could not start in time
			}
			if d.sessionID != "" {
				ctx.TraceWarn(fmt.Sprintf(retrySessionWarnFormat, d.name, d.sessionID, attempt, max, out.err))
			} else {
				ctx.TraceWarn(fmt.Sprintf(retryWarningFormat, d.name, attempt, max, out.err))
			}
			if delay > 0 {
				if w := ctx.await(ctx.ScheduleTimer(delay)); w.err != nil {
					return nil, w.err
				}
			}
		}
		return nil, lastErr
	}
}

func totalTimeoutError(name string, p RetryPolicy, attempts int, last error) error {
	reason := "no attempt finished"
	if last != nil {
		reason = "last error: " + last.Error()
	}
	return &TaskError{Kind: TaskErrTimeout, Message: fmt.Sprintf(totalTimeoutMessageForm, name, p.TotalTimeout, attempts, reason)}
}
