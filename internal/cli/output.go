package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duroxide-go/duroxide"
)

// writeJSON prints v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// rawOrNull returns raw JSON, or JSON null when there is none.
func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

// clip shortens s to at most n runes, marking the cut with "…", and keeps it on one line.
func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// fmtTime renders Unix milliseconds as an RFC 3339 UTC time with milliseconds.
func fmtTime(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z")
}

// fmtOffset renders a time offset in milliseconds: "+1.234s", "+2m3.456s".
func fmtOffset(ms int64) string {
	sign := "+"
	if ms < 0 {
		sign, ms = "-", -ms
	}
	if ms < 60_000 {
		return fmt.Sprintf("%s%d.%03ds", sign, ms/1000, ms%1000)
	}
	return sign + (time.Duration(ms) * time.Millisecond).String()
}

// instanceJSON is the -json shape of an instance (status, wait, list, tree).
type instanceJSON struct {
	InstanceID          string          `json:"instance_id"`
	Name                string          `json:"name"`
	Version             string          `json:"version"`
	Status              string          `json:"status"`
	ExecutionID         uint64          `json:"execution_id"`
	ParentInstanceID    string          `json:"parent_instance_id"`
	CreatedAtMs         int64           `json:"created_at_ms"`
	UpdatedAtMs         int64           `json:"updated_at_ms"`
	CustomStatus        *string         `json:"custom_status"`
	CustomStatusVersion uint64          `json:"custom_status_version"`
	Output              json.RawMessage `json:"output"`
	Error               string          `json:"error"`
	ErrorKind           string          `json:"error_kind"`
}

// fromInfo fills the fields an InstanceInfo has (list and tree read only that).
func fromInfo(info duroxide.InstanceInfo) instanceJSON {
	return instanceJSON{
		InstanceID: info.InstanceID, Name: info.OrchestrationName, Version: info.OrchestrationVersion,
		Status: info.Status, ExecutionID: info.CurrentExecutionID, ParentInstanceID: info.ParentInstanceID,
		CreatedAtMs: info.CreatedAtMs, UpdatedAtMs: info.UpdatedAtMs,
		Output: rawOrNull(info.Output), Error: info.Error,
	}
}

// fromResult adds what a client status read knows: the client's status name, custom
// status and the failure category.
func fromResult(info duroxide.InstanceInfo, res duroxide.OrchestrationResult) instanceJSON {
	j := fromInfo(info)
	j.Status = string(res.Status)
	j.ExecutionID = res.ExecutionID
	j.CustomStatus = res.CustomStatus
	j.CustomStatusVersion = res.CustomStatusVersion
	j.Output = rawOrNull(res.Output.Raw())
	j.Error = res.Error
	j.ErrorKind = string(res.ErrorKind)
	if res.OrchestrationName != "" {
		j.Name, j.Version = res.OrchestrationName, res.OrchestrationVersion
	}
	return j
}

// writeInstance prints an instance as aligned "field  value" lines.
func writeInstance(w io.Writer, j instanceJSON) {
	line := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k, v) }
	line("instance", j.InstanceID)
	line("orchestration", strings.TrimSpace(j.Name+" "+j.Version))
	line("status", j.Status)
	line("execution", fmt.Sprint(j.ExecutionID))
	if j.ParentInstanceID != "" {
		line("parent", j.ParentInstanceID)
	}
	line("created", fmtTime(j.CreatedAtMs))
	line("updated", fmtTime(j.UpdatedAtMs))
	if j.CustomStatus != nil {
		line("custom status", *j.CustomStatus)
	}
	if j.Status == string(duroxide.StatusCompleted) {
		line("output", string(j.Output))
	}
	if j.Error != "" {
		kind := ""
		if j.ErrorKind != "" {
			kind = " (" + j.ErrorKind + ")"
		}
		line("error", j.Error+kind)
	}
}
