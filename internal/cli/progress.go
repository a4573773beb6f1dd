package cli

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// isTerminal reports whether w is a character device (a terminal), without a
// dependency: pipes, files and buffers are not.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// spinnerFrames are drawn in turn, one per tick.
var spinnerFrames = []string{"|", "/", "-", "\\"}

// progress draws "<frame> <label> <elapsed>" on one terminal line, redrawn every
// tick until stop erases it. The label can change while it runs.
type progress struct {
	w     io.Writer
	start time.Time
	mu    sync.Mutex
	label string
	quit  chan struct{}
	done  chan struct{}
}

// startProgress starts a progress line on w when env is on a terminal; otherwise it
// returns a progress whose methods do nothing. Callers must call stop.
func startProgress(env *Env, label string) *progress {
	if !env.Terminal {
		return nil
	}
	p := &progress{w: env.Stderr, start: time.Now(), label: label, quit: make(chan struct{}), done: make(chan struct{})}
	go p.loop(150 * time.Millisecond)
	return p
}

// set replaces the label.
func (p *progress) set(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.label = fmt.Sprintf(format, args...)
	p.mu.Unlock()
}

func (p *progress) loop(tick time.Duration) {
	defer close(p.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := 0; ; i++ {
		p.draw(spinnerFrames[i%len(spinnerFrames)])
		select {
		case <-p.quit:
			fmt.Fprint(p.w, "\r\x1b[K")
			return
		case <-t.C:
		}
	}
}

func (p *progress) draw(frame string) {
	p.mu.Lock()
	label := p.label
	p.mu.Unlock()
	elapsed := time.Since(p.start).Truncate(100 * time.Millisecond)
	fmt.Fprintf(p.w, "\r\x1b[K%s %s %s", frame, label, elapsed)
}

// stop erases the line and waits for the drawing goroutine to end.
func (p *progress) stop() {
	if p == nil {
		return
	}
	close(p.quit)
	<-p.done
}
