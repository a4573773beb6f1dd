package history

import "testing"

func TestSignalsCoalesceAndWatch(t *testing.T) {
	s := NewSignals()
	s.Orchestrator()
	s.Orchestrator() // coalesces: never blocks
	select {
	case <-s.OrchestratorWork():
	default:
		t.Fatal("orchestrator signal lost")
	}
	select {
	case <-s.OrchestratorWork():
		t.Fatal("two signals did not coalesce")
	default:
	}
	a, stopA := s.WatchInstance("a")
	b, stopB := s.WatchInstance("b")
	s.Instance("a")
	select {
	case <-a:
	default:
		t.Fatal("watcher of a not signalled")
	}
	select {
	case <-b:
		t.Fatal("watcher of b signalled for a")
	default:
	}
	s.All()
	<-b
	<-s.WorkerWork()
	if n, inst := s.Watchers(); n != 2 || inst != 2 {
		t.Fatalf("watchers %d on %d instances", n, inst)
	}
	stopA()
	stopA()
	stopB()
	if n, inst := s.Watchers(); n != 0 || inst != 0 {
		t.Fatalf("watchers %d on %d instances after stop", n, inst)
	}
}
