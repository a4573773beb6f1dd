package duroxide

import "github.com/duroxide-go/duroxide/history"

// TagFilter selects the activities a runtime's workers take by their tag
// (RuntimeOptions.WorkerTagFilter). The zero value takes untagged activities only.
type TagFilter = history.TagFilter

// Tag limits: a filter names at most MaxWorkerTags tags, and a tag, on a filter or on an
// activity (WithTag), is at most MaxTagBytes bytes.
const (
	MaxWorkerTags = history.MaxWorkerTags
	MaxTagBytes   = history.MaxTagBytes
)

// ErrInvalidTagFilter is wrapped by the errors of TagsOnly and DefaultAndTags.
var ErrInvalidTagFilter = history.ErrInvalidTagFilter

// TagsOnly is a filter taking only the activities tagged with one of tags (1 to
// MaxWorkerTags, each non-empty and at most MaxTagBytes bytes); no untagged activity.
func TagsOnly(tags ...string) (TagFilter, error) { return history.TagsOnly(tags...) }

// DefaultAndTags is a filter taking untagged activities and those tagged with one of tags
// (1 to MaxWorkerTags, each non-empty and at most MaxTagBytes bytes).
func DefaultAndTags(tags ...string) (TagFilter, error) { return history.DefaultAndTags(tags...) }

// AnyTag is a filter taking every activity, tagged or not.
func AnyTag() TagFilter { return history.AnyTag() }

// NoTags is a filter taking no activity: a runtime with it runs no worker.
func NoTags() TagFilter { return history.NoTags() }
