package duroxide

import (
	"container/list"
	"sync"

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/yield"
)

// instanceCache keeps executions in memory between turns, coroutines parked, so the next
// turn feeds them only what is new. It is bounded (least recently used out); an entry is
// taken out while its instance runs a turn, so no two turns share one.
type instanceCache struct {
	close  func(*yield.Execution) // unwinds an execution leaving the cache
	mu     sync.Mutex
	closed bool // after closeAll (runtime stopped), nothing is kept
	size   int
	order  *list.List // of *cacheEntry, most recent at the front
	byID   map[string]*list.Element
}

type cacheEntry struct {
	instance string
	ex       *yield.Execution
}

func newInstanceCache(size int, closeFn func(*yield.Execution)) *instanceCache {
	return &instanceCache{size: size, close: closeFn, order: list.New(), byID: map[string]*list.Element{}}
}

func (c *instanceCache) enabled() bool { return c.size > 0 }

// take removes and returns the execution cached for instance, if any.
func (c *instanceCache) take(instance string) *yield.Execution {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[instance]
	if !ok {
		return nil
	}
	c.order.Remove(el)
	delete(c.byID, instance)
	return el.Value.(*cacheEntry).ex
}

// put caches ex for instance, closing what it displaces.
func (c *instanceCache) put(instance string, ex *yield.Execution) {
	if !c.enabled() {
		c.close(ex)
		return
	}
	var evicted []*yield.Execution
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.close(ex)
		return
	}
	if el, ok := c.byID[instance]; ok { // cannot happen while the instance is locked; be safe
		evicted = append(evicted, el.Value.(*cacheEntry).ex)
		c.order.Remove(el)
	}
	c.byID[instance] = c.order.PushFront(&cacheEntry{instance: instance, ex: ex})
	for c.order.Len() > c.size {
		el := c.order.Back()
		e := el.Value.(*cacheEntry)
		c.order.Remove(el)
		delete(c.byID, e.instance)
		evicted = append(evicted, e.ex)
	}
	c.mu.Unlock()
	for _, e := range evicted {
		c.close(e) // outside the lock: unwinding runs user defers
	}
}

func (c *instanceCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// closeAll unwinds every cached execution.
func (c *instanceCache) closeAll() {
	c.mu.Lock()
	var all []*yield.Execution
	for el := c.order.Front(); el != nil; el = el.Next() {
		all = append(all, el.Value.(*cacheEntry).ex)
	}
	c.order.Init()
	clear(c.byID)
	c.closed = true
	c.mu.Unlock()
	for _, ex := range all {
		c.close(ex)
	}
}

// runningActivities tracks the activities running in this process so that a turn that
// cancels one (a race loser, a finished instance) can tell it at once.
type runningActivities struct {
	mu        sync.Mutex
	m         map[history.ActivityRef]*ActivityContext
	cancelled bool // cancelAll cancelled at least one activity
}

func newRunningActivities() *runningActivities {
	return &runningActivities{m: map[history.ActivityRef]*ActivityContext{}}
}

func (r *runningActivities) add(ref history.ActivityRef, a *ActivityContext) {
	r.mu.Lock()
	r.m[ref] = a
	r.mu.Unlock()
}

func (r *runningActivities) remove(ref history.ActivityRef) {
	r.mu.Lock()
	delete(r.m, ref)
	r.mu.Unlock()
}

// cancel tells the local activity ref, if it runs here, that it is no longer needed.
func (r *runningActivities) cancel(ref history.ActivityRef) {
	r.mu.Lock()
	a := r.m[ref]
	r.mu.Unlock()
	if a != nil {
		a.markCancelled()
	}
}

func (r *runningActivities) cancelAll() {
	r.mu.Lock()
	all := make([]*ActivityContext, 0, len(r.m))
	for _, a := range r.m {
		all = append(all, a)
	}
	r.cancelled = r.cancelled || len(all) > 0
	r.mu.Unlock()
	for _, a := range all {
		a.stopping.Store(true)
		a.markCancelled()
	}
}

func (r *runningActivities) cancelledAny() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cancelled
}
