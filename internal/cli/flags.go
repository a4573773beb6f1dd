package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/duroxide-go/duroxide/yield"
)

// helpRequest is returned by parseArgs for -h: the command's usage, printed on stdout
// with exit code 0.
type helpRequest struct{ text string }

func (h *helpRequest) Error() string { return "help requested" }

// newFlags makes a command's flag set; errors come back from parseArgs instead of
// being printed by the flag package.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseArgs parses a command's arguments with flags and positional arguments in any
// order ("start Greet -id x" and "start -id x Greet" agree), stopping flag parsing at
// "--" so that a positional argument may start with "-" (a negative JSON number). It
// checks the count of positional arguments against [min, max] (max < 0: no limit).
func parseArgs(fs *flag.FlagSet, cmd Command, args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{text: commandHelp(fs, cmd)}
			}
			return nil, usagef("%v", err)
		}
		consumed := len(args) - fs.NArg()
		rest := fs.Args()
		if consumed > 0 && args[consumed-1] == "--" && !isFlagValue(fs, args, consumed-1) {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < min:
		return nil, usagef("%s needs %s", cmd.Name, cmd.Args)
	case max >= 0 && len(pos) > max:
		return nil, usagef("too many arguments: %s", strings.Join(pos[max:], " "))
	}
	return pos, nil
}

// isFlagValue reports whether args[i] is the value of the flag before it ("-reason --").
func isFlagValue(fs *flag.FlagSet, args []string, i int) bool {
	if i == 0 {
		return false
	}
	prev := strings.TrimLeft(args[i-1], "-")
	if !strings.HasPrefix(args[i-1], "-") || strings.Contains(prev, "=") {
		return false
	}
	f := fs.Lookup(prev)
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// commandHelp renders a command's usage and flags.
func commandHelp(fs *flag.FlagSet, cmd Command) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "usage: duroxide [global flags] %s %s\n\n%s\n", cmd.Name, cmd.Args, capitalize(cmd.Summary))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(&b, "\nFlags:")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return b.String()
}

// parseJSON validates a JSON argument and returns it compacted as a Value; what names
// the argument in the error ("-input", "event data").
func parseJSON(what, text string) (yield.Value, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		hint := ""
		if t := strings.TrimSpace(text); t != "" && !strings.ContainsAny(t[:1], "{[\"-0123456789") {
			hint = ` (a string needs JSON quotes: '"text"')`
		}
		return yield.Value{}, usagef("%s is not valid JSON (%v): %s%s", what, err, clip(text, 60), hint)
	}
	var v yield.Value
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		return yield.Value{}, usagef("%s is not valid JSON: %v", what, err)
	}
	return v, nil
}
