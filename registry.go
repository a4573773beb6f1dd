package duroxide

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/duroxide-go/duroxide/internal/semver"
	"github.com/duroxide-go/duroxide/yield"
)

// DefaultVersion is the version of orchestrations registered without one.
const DefaultVersion = "1.0.0"

// MaxNameBytes bounds orchestration, activity, event and instance names.
const MaxNameBytes = 256

type versionedOrchestration struct {
	version semver.Version
	text    string
	fn      yield.Orchestration
}

// registry maps names to orchestration versions and activities.
type registry struct {
	mu             sync.RWMutex
	orchestrations map[string][]versionedOrchestration // ascending versions
	activities     map[string]Activity
}

func newRegistry() *registry {
	return &registry{orchestrations: map[string][]versionedOrchestration{}, activities: map[string]Activity{}}
}

// checkName rejects names that cannot be stored or logged safely.
func checkName(what, name string) error {
	switch {
	case name == "":
		return invalid("%s name is empty", what)
	case len(name) > MaxNameBytes:
		return invalid("%s name is %d bytes long (limit %d)", what, len(name), MaxNameBytes)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return invalid("%s name %q contains control characters", what, name)
	case !isValidUTF8(name):
		return invalid("%s name %q is not valid UTF-8", what, name)
	}
	return nil
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func (r *registry) addOrchestration(name, version string, fn yield.Orchestration) error {
	if err := checkName("orchestration", name); err != nil {
		return err
	}
	if fn == nil {
		return invalid("orchestration %q: nil function", name)
	}
	v, err := semver.Parse(version)
	if err != nil {
		return invalid("orchestration %q: %v", name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	vs := r.orchestrations[name]
	for _, e := range vs {
		if semver.Compare(e.version, v) == 0 {
			return fmt.Errorf("%w: orchestration %s@%s is already registered", ErrAlreadyExists, name, version)
		}
	}
	vs = append(vs, versionedOrchestration{version: v, text: version, fn: fn})
	slices.SortFunc(vs, func(a, b versionedOrchestration) int { return semver.Compare(a.version, b.version) })
	r.orchestrations[name] = vs
	return nil
}

// resolve finds the handler for name at version; an empty version means the latest.
func (r *registry) resolve(name, version string) (yield.Orchestration, string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	vs := r.orchestrations[name]
	if len(vs) == 0 {
		return nil, "", false
	}
	if version == "" {
		last := vs[len(vs)-1]
		return last.fn, last.text, true
	}
	want, err := semver.Parse(version)
	if err != nil {
		return nil, "", false
	}
	for _, e := range vs {
		if semver.Compare(e.version, want) == 0 {
			return e.fn, e.text, true
		}
	}
	return nil, "", false
}

func (r *registry) addActivity(name string, fn Activity) error {
	if err := checkName("activity", name); err != nil {
		return err
	}
	if strings.HasPrefix(name, yield.ReservedPrefix) {
		return invalid("activity name %q uses the reserved prefix %q", name, yield.ReservedPrefix)
	}
	if fn == nil {
		return invalid("activity %q: nil function", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.activities[name]; dup {
		return fmt.Errorf("%w: activity %q is already registered", ErrAlreadyExists, name)
	}
	r.activities[name] = fn
	return nil
}

func (r *registry) activity(name string) (Activity, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	fn, ok := r.activities[name]
	return fn, ok
}
