package history

import "sync"

// Signals is the in-process half of a Notifier, for stores to hold: coalescing wake-up
// channels for orchestrator and worker work, and per-instance watchers. Every channel
// has a buffer of one and is sent to without blocking, so signals coalesce and a slow
// receiver never slows a commit.
type Signals struct {
	orch, work chan struct{}

	mu       sync.Mutex
	watchers map[string]map[*watcher]struct{}
}

type watcher struct{ ch chan struct{} }

// NewSignals returns Signals with no watchers.
func NewSignals() *Signals {
	return &Signals{
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

// OrchestratorWork is the channel Orchestrator signals.
func (s *Signals) OrchestratorWork() <-chan struct{} { return s.orch }

// WorkerWork is the channel Worker signals.
func (s *Signals) WorkerWork() <-chan struct{} { return s.work }

// Orchestrator signals that orchestrator messages may have been queued.
func (s *Signals) Orchestrator() { signal(s.orch) }

// Worker signals that activities may have been queued.
func (s *Signals) Worker() { signal(s.work) }

// Instance signals the watchers of instance.
func (s *Signals) Instance(instance string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for w := range s.watchers[instance] {
		signal(w.ch)
	}
}

// All wakes every waiter, for when changes may have been missed (a lost connection).
func (s *Signals) All() {
	signal(s.orch)
	signal(s.work)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.watchers {
		for w := range set {
			signal(w.ch)
		}
	}
}

// WatchInstance returns a channel signalled by Instance(instance) (and All) until stop
// is called; stop may be called more than once.
func (s *Signals) WatchInstance(instance string) (<-chan struct{}, func()) {
	w := &watcher{ch: make(chan struct{}, 1)}
	s.mu.Lock()
	set := s.watchers[instance]
	if set == nil {
		set = map[*watcher]struct{}{}
		s.watchers[instance] = set
	}
	set[w] = struct{}{}
	s.mu.Unlock()
	var once sync.Once
	return w.ch, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			delete(s.watchers[instance], w)
			if len(s.watchers[instance]) == 0 {
				delete(s.watchers, instance)
			}
		})
	}
}

// Watchers counts live watchers and the instances they watch.
func (s *Signals) Watchers() (watchers, instances int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, set := range s.watchers {
		watchers += len(set)
	}
	return watchers, len(s.watchers)
}
