package yield

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/duroxide-go/duroxide/coro"
	"github.com/duroxide-go/duroxide/history"
)

// The step-driven scheduler. Orchestration code runs on coroutines (the orchestration
// function and one per block). Exactly one runs at a time: after each history event is
// applied, the scheduler resumes runnable coroutines one by one, in depth-first argument
// order, until every one waits. A yielded Task becomes a tree of nodes whose leaves are
// bound to scheduling events; completions flow up the tree and wake the owner.

type nodeState uint8

const (
	statePending nodeState = iota
	stateDone
	stateCancelled
)

// node is a yielded task at run time.
type node struct {
	d        *taskDesc
	state    nodeState
	parent   *node
	owner    *routine // the routine awaiting this node, for a root node
	children []*node
	building bool

	routine *routine  // block
	sched   *schedule // leaf bound to a scheduling event
	eventID uint64
	child   string   // sub-orchestration instance id
	mb      *mailbox // wait or dequeue
	got     *arrival // the arrival a wait or dequeue consumed

	value  Value
	err    error
	pos    int   // history index of the event that completed it
	winner int   // race
	key    []int // race: depth-first position; routines beneath it share the prefix
}

// outcome is what a yield resumes its coroutine with.
type outcome struct {
	value Value
	err   error
	index int       // race: the winner
	inner *outcome  // race: the winner's outcome
	items []outcome // all: each task's outcome
}

// routine is one coroutine of orchestration code.
type routine struct {
	co      *coro.Coroutine[Task, outcome]
	ctx     *Ctx
	node    *node // the block this routine runs; nil for the orchestration function
	key     []int // depth-first position among live routines
	waiting *node
	resume  outcome
	queued  bool
	ret     any
	err     error
}

func (ex *Execution) newRoutine(n *node, key []int, body func(*Ctx) (any, error)) *routine {
	r := &routine{node: n, key: key}
	r.ctx = &Ctx{ex: ex, r: r}
	r.co = coro.New(func(*coro.Coroutine[Task, outcome]) {
		r.ret, r.err = body(r.ctx)
	})
	if ex.opts.StuckTimeout > 0 {
		r.co.Trace()
	}
	ex.live = append(ex.live, r)
	ex.enqueue(r)
	return r
}

func (ex *Execution) startMain(input []byte) {
	if ex.fn == nil {
		ex.fail(history.Application(history.KindOrchestrationFailed, "no orchestration function"))
		return
	}
	fn := ex.fn
	in := RawValue(input)
	ex.main = ex.newRoutine(nil, nil, func(ctx *Ctx) (any, error) { return fn(ctx, in) })
}

func (ex *Execution) enqueue(r *routine) {
	if !r.queued {
		r.queued = true
		ex.runnable = append(ex.runnable, r)
	}
}

// pick removes and returns the first runnable routine in depth-first order.
func (ex *Execution) pick() *routine {
	if len(ex.runnable) == 0 {
		return nil
	}
	best := 0
	for i := 1; i < len(ex.runnable); i++ {
		if slices.Compare(ex.runnable[i].key, ex.runnable[best].key) < 0 {
			best = i
		}
	}
	r := ex.runnable[best]
	ex.runnable = slices.Delete(ex.runnable, best, best+1)
	r.queued = false
	return r
}

func (ex *Execution) dequeue(r *routine) {
	if i := slices.Index(ex.runnable, r); i >= 0 {
		ex.runnable = slices.Delete(ex.runnable, i, i+1)
	}
	r.queued = false
}

func (ex *Execution) removeLive(r *routine) {
	if i := slices.Index(ex.live, r); i >= 0 {
		ex.live = slices.Delete(ex.live, i, i+1)
	}
}

// runToQuiescence resumes runnable routines until all wait, the execution stops, or
// the turn's step budget is spent.
func (ex *Execution) runToQuiescence() {
	for ex.abort == nil && !ex.paused {
		ex.resolveRaces()
		if len(ex.runnable) == 0 {
			return
		}
		if ex.newSched >= ex.stepBudget() {
			ex.paused = true
			return
		}
		ex.step(ex.pick())
	}
}

func (ex *Execution) step(r *routine) {
	in := r.resume
	r.resume = outcome{}
	ex.current.Store(r)
	ex.replaying = ex.cursor < ex.persisted
	t, yielded, stuck := r.co.ResumeTimeout(in, ex.opts.StuckTimeout)
	ex.current.Store(nil)
	if stuck {
		ex.stuckRoutine(r)
		return
	}
	if ex.foreignYield() {
		return
	}
	if !yielded {
		ex.finishRoutine(r)
		return
	}
	if ex.abort != nil {
		return
	}
	ex.onYield(r, t)
}

// foreignYield fails the execution if a goroutine the code started called Yield on one
// of its ctxs.
func (ex *Execution) foreignYield() bool {
	if ex.foreign.Load() {
		ex.fail(history.Application(history.KindOrchestrationFailed, ErrForeignGoroutine.Error()))
		return true
	}
	return false
}

// stuckRoutine fails the execution for a coroutine that neither yielded nor returned
// within StuckTimeout. Its goroutine cannot be stopped: it is detached and counted.
func (ex *Execution) stuckRoutine(r *routine) {
	ex.removeLive(r)
	ex.dequeue(r)
	ex.stuck++
	d := history.Infrastructure("orchestration_code", fmt.Sprintf(
		"orchestration %q (instance %q) neither yielded nor returned within %v: its goroutine is abandoned; orchestration code must not block or loop without yielding",
		ex.name, ex.instanceID, ex.opts.StuckTimeout), false)
	d.Kind = history.KindStuckCode
	d.Stack = string(r.co.Stack())
	ex.fail(d)
}

func (ex *Execution) finishRoutine(r *routine) {
	ex.removeLive(r)
	if err := r.co.Err(); err != nil {
		var pe *coro.PanicError
		switch {
		case errors.As(err, &pe):
			d := history.Application(history.KindPanicked, panicMessage(pe.Value))
			d.Stack = string(pe.Stack)
			ex.fail(d)
		case errors.Is(err, coro.ErrGoexit):
			ex.fail(history.Application(history.KindPanicked, "orchestration code called runtime.Goexit"))
		default:
			ex.fail(history.Application(history.KindPanicked, err.Error()))
		}
		return
	}
	v, err := ValueOf(r.ret)
	if err != nil && r.err == nil {
		r.err = fmt.Errorf("output: %w", err)
	}
	if n := len(v.raw); n > ex.maxPayload() && r.err == nil {
		r.err = fmt.Errorf("output is %d bytes (limit %d)", n, ex.maxPayload())
	}
	if r == ex.main {
		ex.returned, ex.retValue, ex.retErr = true, v, r.err
		return
	}
	ex.complete(r.node, v, r.err, ex.pos())
}

func panicMessage(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case error:
		return x.Error()
	}
	return fmt.Sprint(v)
}

// pos is the history index of the last applied event: the position of anything that
// completes without an event of its own.
func (ex *Execution) pos() int { return max(ex.cursor-1, 0) }

func (ex *Execution) onYield(r *routine, t Task) {
	if err := validateTask(t, r == ex.main, ex.maxPayload()); err != nil {
		r.resume = outcome{err: err}
		ex.enqueue(r)
		return
	}
	if t.d.kind == kindContinueAsNew {
		ex.can = &t // the routine stays parked: this Yield never returns
		return
	}
	n := ex.instantiate(t.d, nil, 0, r.key)
	n.owner = r
	r.waiting = n
	if n.state == stateDone {
		ex.wake(r)
	}
}

func validateTask(t Task, top bool, maxPayload int) error {
	if t.d == nil {
		return invalidTask("Yield of the zero Task: build tasks with ctx methods")
	}
	if t.d.err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidTask, t.d.err)
	}
	if n := len(t.d.input.raw); n > maxPayload {
		return invalidTask("%s %q: input is %d bytes (limit %d)", t.d.kind, t.d.name, n, maxPayload)
	}
	switch t.d.kind {
	case kindContinueAsNew:
		if !top {
			return invalidTask("ContinueAsNew cannot be used inside All, Race or a block: it ends the whole execution; yield it from the orchestration function itself")
		}
	case kindAll, kindRace:
		for i, c := range t.d.children {
			if err := validateTask(c, false, maxPayload); err != nil {
				return fmt.Errorf("%s task %d: %w", t.d.kind, i, err)
			}
		}
	}
	return nil
}

func (ex *Execution) wake(r *routine) {
	r.resume = outcomeOf(r.waiting)
	r.waiting = nil
	ex.enqueue(r)
}

func outcomeOf(n *node) outcome {
	switch n.d.kind {
	case kindRace:
		in := outcomeOf(n.children[n.winner])
		return outcome{value: n.value, index: n.winner, inner: &in}
	case kindAll:
		items := make([]outcome, len(n.children))
		for i, c := range n.children {
			items[i] = outcomeOf(c)
		}
		return outcome{value: n.value, items: items}
	}
	return outcome{value: n.value, err: n.err}
}

// instantiate turns a task into nodes, recording (or matching) a scheduling event for
// each leaf in depth-first argument order, and starting blocks.
func (ex *Execution) instantiate(d *taskDesc, parent *node, index int, key []int) *node {
	n := &node{d: d, parent: parent}
	switch d.kind {
	case kindActivity:
		idx, ok := ex.record(history.Event{Kind: history.ActivityScheduled, Name: d.name, Input: d.input.payload(), SessionID: d.sessionID, Tag: d.tag})
		if !ok {
			return n
		}
		s := ex.bind(n, idx)
		if ex.isNew(idx) {
			ex.out.activities = append(ex.out.activities, history.ActivityWork{
				Instance: ex.instanceID, ExecutionID: ex.executionID, ID: n.eventID,
				Name: d.name, Input: d.input.payload(), SessionID: d.sessionID, Tag: d.tag,
				OrchestrationName: ex.name, OrchestrationVersion: ex.version,
			})
			ex.markNew(s, len(ex.out.activities))
		}
	case kindTimer:
		fire := ex.nowMs + d.delay.Milliseconds()
		idx, ok := ex.record(history.Event{Kind: history.TimerCreated, FireAtMs: fire})
		if !ok {
			return n
		}
		s := ex.bind(n, idx)
		if ex.isNew(idx) {
			ex.out.messages = append(ex.out.messages, history.Message{Kind: history.MsgTimerFired, Instance: ex.instanceID, ExecutionID: ex.executionID, ID: n.eventID, FireAtMs: fire})
			ex.markNew(s, len(ex.out.messages))
		}
	case kindWaitEvent, kindDequeue:
		kind, queue := history.ExternalSubscribed, d.kind == kindDequeue
		if queue {
			kind = history.QueueSubscribed
		}
		idx, ok := ex.record(history.Event{Kind: kind, Name: d.name})
		if !ok {
			return n
		}
		ex.bind(n, idx)
		n.mb = ex.mailbox(queue, d.name)
		n.mb.addWaiter(ex, n)
	case kindSubOrchestration:
		idx, ok := ex.record(history.Event{Kind: history.SubOrchestrationScheduled, Name: d.name, Version: d.version, Instance: d.instance, Input: d.input.payload()})
		if !ok {
			return n
		}
		s := ex.bind(n, idx)
		n.child = ex.events[idx].Instance
		if ex.isNew(idx) {
			ex.out.messages = append(ex.out.messages, history.Message{
				Kind: history.MsgStartOrchestration, Instance: n.child, ExecutionID: 1,
				Name: d.name, Version: d.version, Input: d.input.payload(),
				ParentInstance: ex.instanceID, ParentExecutionID: ex.executionID, ParentEventID: n.eventID,
			})
			ex.markNew(s, len(ex.out.messages))
		}
	case kindDetached:
		idx, ok := ex.record(history.Event{Kind: history.OrchestrationChained, Name: d.name, Version: d.version, Instance: d.instance, Input: d.input.payload()})
		if !ok {
			return n
		}
		if ex.isNew(idx) {
			ex.out.messages = append(ex.out.messages, history.Message{
				Kind: history.MsgStartOrchestration, Instance: d.instance, ExecutionID: 1,
				Name: d.name, Version: d.version, Input: d.input.payload(),
			})
		}
		ex.complete(n, Value{}, nil, ex.pos())
	case kindUtcNow, kindNewGUID:
		name := history.SysUtcNow
		if d.kind == kindNewGUID {
			name = history.SysNewGUID
		}
		idx, ok := ex.record(history.Event{Kind: history.SystemCall, Name: name})
		if !ok {
			return n
		}
		e := &ex.events[idx]
		if ex.isNew(idx) {
			if d.kind == kindUtcNow {
				e.Result = strconv.AppendInt(nil, ex.nowMs, 10)
			} else {
				e.Result = stringValue(ex.newGUID()).payload()
			}
		}
		ex.complete(n, RawValue(e.Result), nil, ex.pos())
	case kindAll, kindRace:
		n.key = key
		n.building = true
		for i, c := range d.children {
			n.children = append(n.children, ex.instantiate(c.d, n, i, append(slices.Clip(key), i)))
		}
		n.building = false
		ex.childDone(n)
	case kindBlock:
		body := d.block
		if d.retry != nil {
			body = retryBlock(d)
		}
		n.routine = ex.newRoutine(n, slices.Clone(key), body)
	}
	_ = index
	return n
}

// bind ties a leaf to its scheduling event.
func (ex *Execution) bind(n *node, idx int) *schedule {
	n.eventID = ex.events[idx].EventID
	s := ex.byID[n.eventID]
	s.node = n
	n.sched = s
	return s
}

// markNew remembers that s was sent this turn as item i-1 of its out list, so that a
// cancel in the same turn withdraws the item instead of sending a cancel after it.
func (ex *Execution) markNew(s *schedule, i int) {
	s.newInTurn = i
	ex.turnScheds = append(ex.turnScheds, s)
}

// complete finishes a pending node and tells whoever waits on it.
func (ex *Execution) complete(n *node, v Value, err error, pos int) {
	if n.state != statePending {
		return
	}
	ex.resolve(n, v, err, pos)
	ex.notify(n)
}

func (ex *Execution) resolve(n *node, v Value, err error, pos int) {
	n.state, n.value, n.err, n.pos = stateDone, v, err, pos
}

func (ex *Execution) notify(n *node) {
	if n.parent != nil {
		ex.childDone(n.parent)
	} else if n.owner != nil && n.owner.waiting == n {
		ex.wake(n.owner)
	}
}

// childDone re-evaluates a composite after one of its children finished.
func (ex *Execution) childDone(p *node) {
	if p.building || p.state != statePending {
		return
	}
	switch p.d.kind {
	case kindAll:
		last := -1
		for _, c := range p.children {
			if c.state != stateDone {
				return
			}
			last = max(last, c.pos)
		}
		if last < 0 {
			last = ex.pos()
		}
		ex.complete(p, allValue(p.children), nil, last)
	case kindRace:
		done := slices.ContainsFunc(p.children, func(c *node) bool { return c.state == stateDone })
		if done && !slices.Contains(ex.races, p) {
			ex.races = append(ex.races, p)
		}
	}
}

// resolveRaces resolves every race that has a finished child and no runnable coroutine
// beneath it: every branch has then gone as far as it can at the current history
// position, so the earliest completion in history wins and ties go to the first argument.
func (ex *Execution) resolveRaces() {
	for changed := true; changed; {
		changed = false
		for i := 0; i < len(ex.races); i++ {
			p := ex.races[i]
			if p.state == statePending && ex.runnableBeneath(p.key) {
				continue
			}
			ex.races = slices.Delete(ex.races, i, i+1)
			i--
			if p.state == statePending {
				ex.resolveRace(p)
				changed = true
			}
		}
	}
}

func (ex *Execution) runnableBeneath(key []int) bool {
	for _, r := range ex.runnable {
		if len(r.key) >= len(key) && slices.Equal(r.key[:len(key)], key) {
			return true
		}
	}
	return false
}

func (ex *Execution) resolveRace(p *node) {
	w := -1
	for i, c := range p.children {
		if c.state == stateDone && (w < 0 || c.pos < p.children[w].pos) {
			w = i
		}
	}
	p.winner = w
	win := p.children[w]
	ex.resolve(p, raceValue(w, win), nil, win.pos)
	for i, c := range p.children {
		if i != w {
			ex.cancelNode(c, history.ReasonDroppedFuture)
		}
	}
	ex.notify(p)
}

// allValue renders All's result: [{"ok": v} | {"err": "message"}, ...].
func allValue(children []*node) Value {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, c := range children {
		if i > 0 {
			b.WriteByte(',')
		}
		if c.err != nil {
			b.WriteString(`{"err":`)
			b.Write(stringValue(c.err.Error()).Raw())
		} else {
			b.WriteString(`{"ok":`)
			b.Write(c.value.Raw())
		}
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return Value{raw: b.Bytes()}
}

// raceValue renders Race's result: {"index": i, "value": v}, the message for a failure.
func raceValue(i int, win *node) Value {
	v := win.value
	if win.err != nil {
		v = stringValue(win.err.Error())
	}
	var b bytes.Buffer
	b.WriteString(`{"index":`)
	b.WriteString(strconv.Itoa(i))
	b.WriteString(`,"value":`)
	b.Write(v.Raw())
	b.WriteByte('}')
	return Value{raw: b.Bytes()}
}

// cancelNode drops a task the code no longer awaits: a race loser and all it started.
// Pending leaves are cancelled (recorded, and withdrawn from workers and children);
// results never seen by code are given back (a consumed event returns to its mailbox).
func (ex *Execution) cancelNode(n *node, reason string) {
	switch n.state {
	case stateCancelled:
		return
	case stateDone:
		n.state = stateCancelled
		switch n.d.kind {
		case kindWaitEvent, kindDequeue:
			if n.got != nil { // taken but never seen by code: the wait consumed nothing
				a := *n.got
				n.got = nil
				ex.breadcrumb(waitCancelKind(n), n, reason)
				n.mb.giveBack(ex, a)
			}
		case kindAll, kindRace:
			for _, c := range n.children {
				ex.cancelNode(c, reason)
			}
		}
		return
	}
	n.state = stateCancelled
	switch n.d.kind {
	case kindActivity:
		if n.sched != nil {
			ex.breadcrumb(history.ActivityCancelRequested, n, reason)
		}
	case kindSubOrchestration:
		if n.sched != nil {
			ex.breadcrumb(history.SubOrchestrationCancelRequested, n, reason)
		}
	case kindWaitEvent, kindDequeue:
		if n.sched != nil {
			n.mb.removeWaiter(n)
			ex.breadcrumb(waitCancelKind(n), n, reason)
		}
	case kindTimer:
		if n.sched != nil && n.sched.newInTurn > 0 {
			ex.out.dropped[n.sched.newInTurn-1] = true // no point sending a timer nobody awaits
		}
	case kindAll, kindRace:
		for _, c := range n.children {
			ex.cancelNode(c, reason)
		}
	case kindBlock:
		r := n.routine
		if r.waiting != nil {
			ex.cancelNode(r.waiting, reason)
		}
		ex.abandon(r)
	}
}

func waitCancelKind(n *node) history.EventKind {
	if n.d.kind == kindDequeue {
		return history.QueueSubscriptionCancelled
	}
	return history.ExternalSubscribedCancelled
}

// breadcrumb records the cancel of a leaf and, the first time, acts on it.
func (ex *Execution) breadcrumb(kind history.EventKind, n *node, reason string) {
	idx, ok := ex.record(history.Event{Kind: kind, SourceEventID: n.eventID, Reason: reason})
	if !ok || !ex.isNew(idx) {
		return
	}
	switch kind {
	case history.ActivityCancelRequested:
		ex.withdrawActivity(n.sched, n.eventID)
	case history.SubOrchestrationCancelRequested:
		ex.withdrawChild(n.sched, n.child, history.ReasonParentDroppedChild)
	}
}

func (ex *Execution) abandonGrace() time.Duration {
	if ex.opts.AbandonGrace > 0 {
		return ex.opts.AbandonGrace
	}
	return 5 * time.Second
}

// abandon unwinds a parked routine: its deferred calls run, its goroutine exits.
func (ex *Execution) abandon(r *routine) {
	ex.removeLive(r)
	ex.dequeue(r)
	if err := r.co.Abandon(ex.abandonGrace()); err != nil {
		ex.stranded++
	}
}

// abandonAll unwinds every live routine, innermost first.
func (ex *Execution) abandonAll() {
	rs := slices.Clone(ex.live)
	slices.SortStableFunc(rs, func(a, b *routine) int { return len(b.key) - len(a.key) })
	for _, r := range rs {
		ex.abandon(r)
	}
	ex.runnable = nil
}

// mailboxes: raised events and queue messages wait in arrival order for the waits on
// their name; the k-th active wait receives the k-th unconsumed arrival.

type mailKey struct {
	queue bool
	name  string
}

type arrival struct {
	pos  int
	data Value
}

type mailbox struct {
	arrivals []arrival
	waiters  []*node
}

func (ex *Execution) mailbox(queue bool, name string) *mailbox {
	k := mailKey{queue, name}
	mb := ex.mail[k]
	if mb == nil {
		mb = &mailbox{}
		ex.mail[k] = mb
	}
	return mb
}

func (mb *mailbox) arrive(ex *Execution, a arrival) {
	mb.arrivals = append(mb.arrivals, a)
	mb.pair(ex)
}

// giveBack returns an arrival a cancelled wait had taken, in its original place.
func (mb *mailbox) giveBack(ex *Execution, a arrival) {
	i, _ := slices.BinarySearchFunc(mb.arrivals, a.pos, func(x arrival, pos int) int { return x.pos - pos })
	mb.arrivals = slices.Insert(mb.arrivals, i, a)
	mb.pair(ex)
}

func (mb *mailbox) addWaiter(ex *Execution, n *node) {
	mb.waiters = append(mb.waiters, n)
	mb.pair(ex)
}

func (mb *mailbox) removeWaiter(n *node) {
	if i := slices.Index(mb.waiters, n); i >= 0 {
		mb.waiters = slices.Delete(mb.waiters, i, i+1)
	}
}

func (mb *mailbox) pair(ex *Execution) {
	for len(mb.waiters) > 0 && len(mb.arrivals) > 0 {
		w, a := mb.waiters[0], mb.arrivals[0]
		mb.waiters, mb.arrivals = mb.waiters[1:], mb.arrivals[1:]
		w.got = &a
		ex.complete(w, a.data, nil, a.pos)
	}
}
