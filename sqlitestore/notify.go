package sqlitestore

// OrchestratorWork signals that orchestrator messages may have been queued.
func (s *Store) OrchestratorWork() <-chan struct{} { return s.sig.OrchestratorWork() }

// WorkerWork signals that activities may have been queued.
func (s *Store) WorkerWork() <-chan struct{} { return s.sig.WorkerWork() }

// WatchInstance signals changes of the instance's status or custom status (and its
// creation) until stop is called. stop may be called more than once.
func (s *Store) WatchInstance(instance string) (<-chan struct{}, func()) {
	return s.sig.WatchInstance(instance)
}

// changes collects what a transaction did, to signal once it has committed.
type changes struct {
	orch, work bool
	instances  []string
}

func (s *Store) fire(c *changes) {
	if c.orch {
		s.sig.Orchestrator()
	}
	if c.work {
		s.sig.Worker()
	}
	for _, id := range c.instances {
		s.sig.Instance(id)
	}
}
