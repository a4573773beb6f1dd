package sqlitestore

import "sync"

// notifier holds the in-process wake-up channels. Every channel has a buffer of one and
// is sent to without blocking, so signals coalesce and a slow receiver never slows a
// commit. Only changes made through this Store are signalled (not those of other
// processes sharing the file).
type notifier struct {
	orch, work chan struct{}

	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{}
}

type watcher struct{ ch chan struct{} }

func newNotifier() notifier {
	return notifier{
		orch:     make(chan struct{}, 1),
		work:     make(chan struct{}, 1),
		watchers: map[string]map[*watcher]struct{}{},
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (n *notifier) instance(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for w := range n.watchers[id] {
		signal(w.ch)
	}
}

// OrchestratorWork signals that orchestrator messages may have been queued.
func (s *Store) OrchestratorWork() <-chan struct{} { return s.n.orch }

// WorkerWork signals that activities may have been queued.
func (s *Store) WorkerWork() <-chan struct{} { return s.n.work }

// WatchInstance signals changes of the instance's status or custom status (and its
// creation) until stop is called. stop may be called more than once.
func (s *Store) WatchInstance(instance string) (<-chan struct{}, func()) {
	w := &watcher{ch: make(chan struct{}, 1)}
	n := &s.n
	n.mu.Lock()
	set := n.watchers[instance]
	if set == nil {
		set = map[*watcher]struct{}{}
		n.watchers[instance] = set
	}
	set[w] = struct{}{}
	n.mu.Unlock()
	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			n.mu.Lock()
			defer n.mu.Unlock()
			delete(n.watchers[instance], w)
			if len(n.watchers[instance]) == 0 {
				delete(n.watchers, instance)
			}
		})
	}
}

// watcherCount is the number of live watchers (for tests).
func (n *notifier) watcherCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := 0
	for _, set := range n.watchers {
		c += len(set)
	}
	return c
}

// changes collects what a transaction did, to signal once it has committed.
type changes struct {
	orch, work bool
	instances  []string
}

func (s *Store) fire(c *changes) {
	if c.orch {
		signal(s.n.orch)
	}
	if c.work {
		signal(s.n.work)
	}
	for _, id := range c.instances {
		s.n.instance(id)
	}
}
