package history

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Tag limits.
const (
	// MaxWorkerTags is the most tags a TagFilter may name.
	MaxWorkerTags = 5
	// MaxTagBytes is the longest tag, in bytes, for filters and for activities alike.
	MaxTagBytes = 256
)

// TagMode says which activities a TagFilter accepts.
type TagMode uint8

// The tag filter modes.
const (
	// TagDefaultOnly accepts untagged activities only. It is the zero value.
	TagDefaultOnly TagMode = iota
	// TagOnly accepts activities whose tag is in the set, and no untagged ones.
	TagOnly
	// TagDefaultAnd accepts untagged activities and those whose tag is in the set.
	TagDefaultAnd
	// TagAny accepts every activity, tagged or not.
	TagAny
	// TagNone accepts no activity: a worker fetch with it returns nil, nil at once.
	TagNone
)

// TagFilter says which activities a worker takes, by their tag (ScheduleActivity(...)
// .WithTag). The zero value takes untagged activities only. Build the others with
// TagsOnly, DefaultAndTags, AnyTag and NoTags. A TagFilter is a value: copy it freely.
type TagFilter struct {
	mode TagMode
	tags []string // sorted, distinct; set for TagOnly and TagDefaultAnd
}

// TagsOnly accepts the activities tagged with one of tags (1 to MaxWorkerTags of them,
// each non-empty and at most MaxTagBytes bytes), and no untagged activity.
func TagsOnly(tags ...string) (TagFilter, error) {
	return newTagFilter(TagOnly, tags)
}

// DefaultAndTags accepts untagged activities and those tagged with one of tags (1 to
// MaxWorkerTags of them, each non-empty and at most MaxTagBytes bytes).
func DefaultAndTags(tags ...string) (TagFilter, error) {
	return newTagFilter(TagDefaultAnd, tags)
}

// AnyTag accepts every activity.
func AnyTag() TagFilter { return TagFilter{mode: TagAny} }

// NoTags accepts no activity: a runtime with it runs no worker (an orchestration-only
// node).
func NoTags() TagFilter { return TagFilter{mode: TagNone} }

// ErrInvalidTagFilter is wrapped by the errors of TagsOnly and DefaultAndTags.
var ErrInvalidTagFilter = errors.New("invalid tag filter")

func newTagFilter(mode TagMode, tags []string) (TagFilter, error) {
	if len(tags) == 0 {
		return TagFilter{}, fmt.Errorf("%w: name at least one tag", ErrInvalidTagFilter)
	}
	if len(tags) > MaxWorkerTags {
		return TagFilter{}, fmt.Errorf("%w: %d tags, the limit is %d", ErrInvalidTagFilter, len(tags), MaxWorkerTags)
	}
	for i, t := range tags {
		if t == "" {
			return TagFilter{}, fmt.Errorf("%w: tag %d is empty", ErrInvalidTagFilter, i)
		}
		if len(t) > MaxTagBytes {
			return TagFilter{}, fmt.Errorf("%w: tag %d is %d bytes, the limit is %d bytes", ErrInvalidTagFilter, i, len(t), MaxTagBytes)
		}
	}
	s := slices.Clone(tags)
	slices.Sort(s)
	return TagFilter{mode: mode, tags: slices.Compact(s)}, nil
}

// Mode is the filter's mode.
func (f TagFilter) Mode() TagMode { return f.mode }

// Tags returns a copy of the filter's tags, sorted; nil for the modes without a set.
func (f TagFilter) Tags() []string { return slices.Clone(f.tags) }

// Matches reports whether the filter accepts an activity with tag ("" for untagged).
func (f TagFilter) Matches(tag string) bool {
	switch f.mode {
	case TagDefaultOnly:
		return tag == ""
	case TagOnly:
		return tag != "" && slices.Contains(f.tags, tag)
	case TagDefaultAnd:
		return tag == "" || slices.Contains(f.tags, tag)
	case TagAny:
		return true
	default:
		return false
	}
}

// String renders the filter: "default_only", "tags(gpu,tpu)", "default_and(gpu)", "any"
// or "none".
func (f TagFilter) String() string {
	switch f.mode {
	case TagDefaultOnly:
		return "default_only"
	case TagOnly:
		return "tags(" + strings.Join(f.tags, ",") + ")"
	case TagDefaultAnd:
		return "default_and(" + strings.Join(f.tags, ",") + ")"
	case TagAny:
		return "any"
	case TagNone:
		return "none"
	default:
		return fmt.Sprintf("TagMode(%d)", f.mode)
	}
}
