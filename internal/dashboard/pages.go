package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
)

// statusFilters are the list's filters, in display order; "" is all.
var statusFilters = []string{"", "Running", "Completed", "Failed", "ContinuedAsNew"}

// instanceRow is one instance in the list (and in the JSON of /api/instances).
type instanceRow struct {
	ID          string `json:"instance_id"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	Status      string `json:"status"`
	ExecutionID uint64 `json:"execution_id"`
	CreatedAtMs int64  `json:"created_at_ms"`
	UpdatedAtMs int64  `json:"updated_at_ms"`
	Parent      string `json:"parent_instance_id,omitempty"`
	URL         string `json:"url"`
}

// filterLink is one status filter button.
type filterLink struct {
	Label, URL string
	Active     bool
}

// listData is the list page (and /api/instances).
type listData struct {
	Status  string        `json:"status"`
	Query   string        `json:"q"`
	Page    int           `json:"page"`
	Pages   int           `json:"pages"`
	Total   int           `json:"total"`
	Rows    []instanceRow `json:"instances"`
	Filters []filterLink  `json:"-"`
	PrevURL string        `json:"-"`
	NextURL string        `json:"-"`
	Done    string        `json:"-"`
	DoneID  string        `json:"-"`
}

// listURL is the URL of a list page.
func listURL(status, q string, page int) string {
	v := url.Values{}
	if status != "" {
		v.Set("status", status)
	}
	if q != "" {
		v.Set("q", q)
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	if len(v) == 0 {
		return "/"
	}
	return "/?" + v.Encode()
}

func instanceURL(id string) string {
	if id == "" {
		return ""
	}
	return "/instance?id=" + url.QueryEscape(id)
}

// loadList reads one page of instances: the store lists ids newest first (by status
// when filtered), the search keeps ids containing q (case-insensitive), and only the
// page's instances are read in full.
func (s *server) loadList(ctx context.Context, r *http.Request) (listData, int, error) {
	q := r.URL.Query()
	d := listData{Query: strings.TrimSpace(q.Get("q")), Page: 1}
	st := q.Get("status")
	for _, f := range statusFilters {
		if f != "" && strings.EqualFold(f, st) {
			d.Status = f
		}
	}
	if st != "" && !strings.EqualFold(st, "all") && d.Status == "" {
		return d, http.StatusBadRequest, fmt.Errorf("unknown status %q: use Running, Completed, Failed, ContinuedAsNew or all", st)
	}
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		d.Page = p
	}
	ids, err := s.client.ListInstancesByStatus(ctx, d.Status)
	if err != nil {
		return d, http.StatusInternalServerError, fmt.Errorf("list instances: %w", err)
	}
	if d.Query != "" {
		needle := strings.ToLower(d.Query)
		kept := ids[:0:0]
		for _, id := range ids {
			if strings.Contains(strings.ToLower(id), needle) {
				kept = append(kept, id)
			}
		}
		ids = kept
	}
	d.Total = len(ids)
	d.Pages = max(1, (len(ids)+s.pageSize-1)/s.pageSize)
	d.Page = min(d.Page, d.Pages)
	lo := (d.Page - 1) * s.pageSize
	hi := min(len(ids), lo+s.pageSize)
	d.Rows = []instanceRow{}
	for _, id := range ids[lo:hi] {
		info, err := s.client.GetInstanceInfo(ctx, id)
		if errors.Is(err, duroxide.ErrNotFound) {
			continue // deleted since it was listed
		}
		if err != nil {
			return d, http.StatusInternalServerError, fmt.Errorf("read instance %q: %w", id, err)
		}
		d.Rows = append(d.Rows, instanceRow{ID: id, Name: info.OrchestrationName, Version: info.OrchestrationVersion,
			Status: info.Status, ExecutionID: info.CurrentExecutionID, CreatedAtMs: info.CreatedAtMs,
			UpdatedAtMs: info.UpdatedAtMs, Parent: info.ParentInstanceID, URL: instanceURL(id)})
	}
	for _, f := range statusFilters {
		label := f
		if f == "" {
			label = "All"
		}
		d.Filters = append(d.Filters, filterLink{Label: label, URL: listURL(f, d.Query, 1), Active: f == d.Status})
	}
	if d.Page > 1 {
		d.PrevURL = listURL(d.Status, d.Query, d.Page-1)
	}
	if d.Page < d.Pages {
		d.NextURL = listURL(d.Status, d.Query, d.Page+1)
	}
	return d, http.StatusOK, nil
}

func (s *server) handleList(w http.ResponseWriter, r *http.Request) {
	d, code, err := s.loadList(r.Context(), r)
	if err != nil {
		s.fail(w, r, code, "Cannot list instances", err.Error())
		return
	}
	d.Done, d.DoneID = doneMessage(r.URL.Query().Get("done")), r.URL.Query().Get("id")
	s.render(w, r, http.StatusOK, "list", "Instances", d)
}

func (s *server) handleAPIList(w http.ResponseWriter, r *http.Request) {
	d, code, err := s.loadList(r.Context(), r)
	if err != nil {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// kvPair is one KV entry of an instance.
type kvPair struct{ Key, Value string }

// execLink is one execution in the execution list.
type execLink struct {
	ID       uint64
	URL      string
	Selected bool
}

// treeNode is one instance of the tree, with its children.
type treeNode struct {
	ID, Name, Status, URL string
	Current               bool
	Children              []*treeNode
}

// instanceData is the instance page (and /api/instance).
type instanceData struct {
	Info                duroxide.InstanceInfo  `json:"-"`
	ID                  string                 `json:"instance_id"`
	Name                string                 `json:"name"`
	Version             string                 `json:"version"`
	Status              string                 `json:"status"`
	ErrorKind           string                 `json:"error_kind,omitempty"`
	Error               string                 `json:"error,omitempty"`
	CustomStatus        *string                `json:"custom_status"`
	CustomStatusVersion uint64                 `json:"custom_status_version"`
	Input               string                 `json:"input"`
	Output              string                 `json:"output"`
	KV                  []kvPair               `json:"-"`
	Executions          []execLink             `json:"-"`
	Execution           duroxide.ExecutionInfo `json:"-"`
	ExecutionID         uint64                 `json:"execution_id"`
	ExecutionStatus     string                 `json:"execution_status"`
	ExecutionError      string                 `json:"-"`
	Events              []eventRow             `json:"-"`
	Timeline            timeline               `json:"timeline"`
	Tree                *treeNode              `json:"-"`
	TreeTruncated       bool                   `json:"-"`
	Running             bool                   `json:"running"`
	RefreshURL          string                 `json:"-"`
	ParentURL           string                 `json:"-"`
	CSRF                string                 `json:"-"`
	Done                string                 `json:"-"`
}

// maxTree bounds the instances read for the tree of one page.
const maxTree = 200

// loadInstance reads everything the instance page shows.
func (s *server) loadInstance(ctx context.Context, r *http.Request) (*instanceData, int, error) {
	q := r.URL.Query()
	id := q.Get("id")
	if id == "" {
		return nil, http.StatusBadRequest, errors.New("no instance id given (?id=)")
	}
	info, err := s.client.GetInstanceInfo(ctx, id)
	if errors.Is(err, duroxide.ErrNotFound) {
		return nil, http.StatusNotFound, fmt.Errorf("no instance %q", id)
	}
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("read instance %q: %w", id, err)
	}
	res, err := s.client.GetStatus(ctx, id)
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("read status of %q: %w", id, err)
	}
	d := &instanceData{Info: info, ID: id, Name: info.OrchestrationName, Version: info.OrchestrationVersion,
		Status: info.Status, Error: info.Error, ErrorKind: string(res.ErrorKind), CustomStatus: res.CustomStatus,
		CustomStatusVersion: res.CustomStatusVersion, Output: pretty(info.Output), Running: info.Status == "Running",
		ParentURL: instanceURL(info.ParentInstanceID)}
	kv, err := s.client.GetKVAllValues(ctx, id)
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("read KV of %q: %w", id, err)
	}
	for k, v := range kv {
		d.KV = append(d.KV, kvPair{k, v})
	}
	sort.Slice(d.KV, func(i, j int) bool { return d.KV[i].Key < d.KV[j].Key })
	execs, err := s.client.ListExecutions(ctx, id)
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("list executions of %q: %w", id, err)
	}
	d.ExecutionID = info.CurrentExecutionID
	if n, err := strconv.ParseUint(q.Get("execution"), 10, 64); err == nil && n > 0 {
		d.ExecutionID = n
	}
	for _, n := range execs {
		d.Executions = append(d.Executions, execLink{ID: n, Selected: n == d.ExecutionID,
			URL: instanceURL(id) + "&execution=" + strconv.FormatUint(n, 10)})
	}
	ei, err := s.client.GetExecutionInfo(ctx, id, d.ExecutionID)
	if errors.Is(err, duroxide.ErrNotFound) {
		return nil, http.StatusNotFound, fmt.Errorf("instance %q has no execution %d", id, d.ExecutionID)
	}
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("read execution %d of %q: %w", d.ExecutionID, id, err)
	}
	d.Execution, d.ExecutionStatus, d.ExecutionError = ei, string(ei.Status), errText(ei.Error)
	events, err := s.client.ReadExecutionHistory(ctx, id, d.ExecutionID)
	if err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("read history of %q: %w", id, err)
	}
	if len(events) > 0 && events[0].Kind == history.OrchestrationStarted {
		d.Input = pretty(events[0].Input)
	}
	d.Events = eventRows(events)
	d.Timeline = buildTimeline(events, time.Now().UnixMilli())
	if d.Running && d.ExecutionID == info.CurrentExecutionID {
		d.RefreshURL = "/api/instance?id=" + url.QueryEscape(id) + "&execution=" + strconv.FormatUint(d.ExecutionID, 10)
	}
	tree, truncated, err := s.loadTree(ctx, info)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	d.Tree, d.TreeTruncated = tree, truncated
	return d, http.StatusOK, nil
}

// loadTree reads the tree the instance belongs to: up to its root, then the root's
// descendants (at most maxTree of them).
func (s *server) loadTree(ctx context.Context, info duroxide.InstanceInfo) (*treeNode, bool, error) {
	root := info
	for seen := 0; root.ParentInstanceID != "" && seen < 64; seen++ {
		p, err := s.client.GetInstanceInfo(ctx, root.ParentInstanceID)
		if errors.Is(err, duroxide.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("read parent %q: %w", root.ParentInstanceID, err)
		}
		root = p
	}
	tree, err := s.client.GetInstanceTree(ctx, root.InstanceID)
	if err != nil {
		return nil, false, fmt.Errorf("read the tree of %q: %w", root.InstanceID, err)
	}
	ids, truncated := tree.AllIDs, false
	if len(ids) > maxTree {
		ids, truncated = ids[:maxTree], true
	}
	nodes := map[string]*treeNode{}
	var top *treeNode
	for _, id := range ids {
		in := root
		if id != root.InstanceID {
			var err error
			in, err = s.client.GetInstanceInfo(ctx, id)
			if errors.Is(err, duroxide.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, false, fmt.Errorf("read instance %q: %w", id, err)
			}
		}
		n := &treeNode{ID: id, Name: in.OrchestrationName, Status: in.Status, URL: instanceURL(id), Current: id == info.InstanceID}
		nodes[id] = n
		if p, ok := nodes[in.ParentInstanceID]; ok && id != root.InstanceID {
			p.Children = append(p.Children, n)
		} else if top == nil {
			top = n
		}
	}
	return top, truncated, nil
}

func (s *server) handleInstance(w http.ResponseWriter, r *http.Request) {
	d, code, err := s.loadInstance(r.Context(), r)
	if err != nil {
		s.fail(w, r, code, "Cannot show the instance", err.Error())
		return
	}
	if !s.opts.ReadOnly {
		d.CSRF = s.csrfToken(w, r)
	}
	d.Done = doneMessage(r.URL.Query().Get("done"))
	s.render(w, r, http.StatusOK, "instance", d.ID, d)
}

func (s *server) handleAPIInstance(w http.ResponseWriter, r *http.Request) {
	d, code, err := s.loadInstance(r.Context(), r)
	if err != nil {
		writeJSON(w, code, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// action is a request to change an instance, as the forms post it.
type action struct {
	Kind   string // raise, cancel, delete
	ID     string
	Name   string // raise: event name
	Data   string // raise: JSON data
	Reason string // cancel
	Force  bool   // delete
	CSRF   string
}

// Title says what the action does, for the confirmation page.
func (a action) Title() string {
	switch a.Kind {
	case "raise":
		return fmt.Sprintf("Raise event %q on %s", a.Name, a.ID)
	case "cancel":
		return "Cancel " + a.ID
	case "delete":
		if a.Force {
			return "Delete " + a.ID + " (forced, even if running)"
		}
		return "Delete " + a.ID
	}
	return a.Kind
}

// handleAction runs raise, cancel and delete. The first POST (from the instance page)
// shows a confirmation page that posts the same fields again with confirm=yes; only
// that second POST acts.
func (s *server) handleAction(w http.ResponseWriter, r *http.Request) {
	if s.opts.ReadOnly {
		s.fail(w, r, http.StatusForbidden, "Read-only dashboard", "This dashboard was started read-only: actions are disabled.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Bad request", "The form could not be read: "+err.Error())
		return
	}
	if !s.csrfValid(r) {
		s.fail(w, r, http.StatusForbidden, "Invalid or missing CSRF token",
			"The form did not come from this dashboard session. Reload the instance page and try again.")
		return
	}
	a := action{Kind: r.PostFormValue("action"), ID: r.PostFormValue("id"), Name: strings.TrimSpace(r.PostFormValue("name")),
		Data: strings.TrimSpace(r.PostFormValue("data")), Reason: r.PostFormValue("reason"),
		Force: r.PostFormValue("force") != "", CSRF: r.PostFormValue("csrf")}
	if a.ID == "" {
		s.fail(w, r, http.StatusBadRequest, "Bad request", "No instance id given.")
		return
	}
	var data any
	switch a.Kind {
	case "raise":
		if a.Name == "" {
			s.fail(w, r, http.StatusBadRequest, "Bad request", "An event needs a name.")
			return
		}
		if a.Data == "" {
			a.Data = "null"
		}
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(a.Data)); err != nil {
			s.fail(w, r, http.StatusBadRequest, "Invalid event data",
				fmt.Sprintf("The event data is not valid JSON (%v). A string needs quotes: \"text\".", err))
			return
		}
		a.Data = b.String()
		data = json.RawMessage(a.Data)
	case "cancel", "delete":
	default:
		s.fail(w, r, http.StatusBadRequest, "Bad request", fmt.Sprintf("Unknown action %q.", a.Kind))
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		s.render(w, r, http.StatusOK, "confirm", "Confirm", a)
		return
	}
	ctx := r.Context()
	var err error
	done := a.Kind
	switch a.Kind {
	case "raise":
		err = s.client.RaiseEvent(ctx, a.ID, a.Name, data)
	case "cancel":
		err = s.client.CancelInstance(ctx, a.ID, a.Reason)
	case "delete":
		_, err = s.client.DeleteInstance(ctx, a.ID, a.Force)
	}
	if err != nil {
		code := http.StatusInternalServerError
		switch {
		case errors.Is(err, duroxide.ErrNotFound):
			code = http.StatusNotFound
		case errors.Is(err, duroxide.ErrStillRunning), errors.Is(err, duroxide.ErrIsSubOrchestration),
			errors.Is(err, duroxide.ErrHasChildren):
			code = http.StatusConflict
		case errors.Is(err, duroxide.ErrInvalidInput):
			code = http.StatusBadRequest
		}
		s.fail(w, r, code, "The action failed", a.Title()+": "+err.Error())
		return
	}
	if a.Kind == "delete" {
		http.Redirect(w, r, "/?done=deleted&id="+url.QueryEscape(a.ID), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, instanceURL(a.ID)+"&done="+done, http.StatusSeeOther)
}

// doneMessage is the notice shown after an action; only known actions are shown, so no
// text of the URL lands on the page beyond an instance id.
func doneMessage(done string) string {
	switch done {
	case "raise":
		return "Event raised: a runtime on this store delivers it."
	case "cancel":
		return "Cancellation requested: a runtime on this store applies it."
	case "deleted":
		return "Instance deleted"
	}
	return ""
}

// messageData is the page of an error or a refusal.
type messageData struct {
	Title, Text string
	Code        int
}

// fail answers with an error page, or a JSON error for /api/.
func (s *server) fail(w http.ResponseWriter, r *http.Request, code int, title, text string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		writeJSON(w, code, map[string]string{"error": title + ": " + text})
		return
	}
	s.render(w, r, code, "message", title, messageData{Title: title, Text: text, Code: code})
}

// page is what the layout renders around a page's data.
type page struct {
	Title    string
	ReadOnly bool
	Data     any
}

// render executes a page into a buffer first, so a template error becomes a clean 500.
func (s *server) render(w http.ResponseWriter, _ *http.Request, code int, name, title string, data any) {
	var b bytes.Buffer
	if err := s.pages[name].Execute(&b, page{Title: title, ReadOnly: s.opts.ReadOnly, Data: data}); err != nil {
		http.Error(w, "dashboard: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "dashboard: encoding JSON: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(b, '\n'))
}

// fmtTime renders Unix milliseconds as a UTC time; "" for 0.
func fmtTime(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000Z")
}

// fmtDuration renders milliseconds as +1.234s, +2m03s...
func fmtDuration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Minute:
		return fmt.Sprintf("+%.3fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("+%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("+%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
