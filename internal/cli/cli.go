// Package cli implements the duroxide command-line tool: one binary pointed at a store
// (-db for a SQLite file, -pg for PostgreSQL) that starts, signals, inspects, waits for
// and cleans up orchestration instances through the public Client API.
//
// Run is the whole program: cmd/duroxide only forwards os.Args and exits with the code
// Run returns, so tests drive every command in-process. Commands live in a table;
// Register adds one (the web dashboard plugs in there as "serve").
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
)

// Exit codes: scripts may rely on them (docs/cli.md lists them too).
const (
	// ExitOK: the command did what it was asked; for wait, the instance completed.
	ExitOK = 0
	// ExitFailed: the operation failed (store error, instance already exists, delete
	// of a running instance without -force...); for wait, the instance failed.
	ExitFailed = 1
	// ExitUsage: the command line is wrong: unknown command or flag, missing or extra
	// arguments, invalid JSON, no store given, or a value the client rejected.
	ExitUsage = 2
	// ExitNotFound: the instance (or execution, or KV key) does not exist.
	ExitNotFound = 3
	// ExitTimeout: wait reached its -timeout before the instance finished.
	ExitTimeout = 4
	// ExitInterrupted: the command was interrupted (SIGINT/SIGTERM), as shells report it.
	ExitInterrupted = 130
)

// Env is what a command runs with: the client on the selected store and the output
// streams. Stdout takes results; Stderr takes errors and progress.
type Env struct {
	// Client talks to the store named by the global flags; nil for commands with NoStore.
	Client *duroxide.Client
	// Stdout and Stderr are the streams Run was given.
	Stdout, Stderr io.Writer
	// Terminal reports whether stdout and stderr are terminals: progress displays are
	// drawn on Stderr only then.
	Terminal bool
	// Store describes the store for messages, e.g. `sqlite "app.db"`.
	Store string
}

// Command is one entry of the command table.
type Command struct {
	// Name is the word that selects the command.
	Name string
	// Args is the synopsis after the name, e.g. "ID [-force]".
	Args string
	// Summary is a one-line description for the command list.
	Summary string
	// NoStore marks commands that run without opening a store (help).
	NoStore bool
	// Run executes the command with the arguments after its name. It returns a
	// *UsageError for a wrong command line; other errors are mapped to exit codes by
	// their category (ErrNotFound, ErrTimeout...).
	Run func(ctx context.Context, env *Env, args []string) error
}

var commands = map[string]Command{}

// Register adds a command to the table. It panics on an empty or duplicate name, a
// programming error found at start-up.
func Register(c Command) {
	if c.Name == "" || c.Run == nil {
		panic("cli: Register needs a name and a Run function")
	}
	if _, dup := commands[c.Name]; dup {
		panic("cli: command " + c.Name + " registered twice")
	}
	commands[c.Name] = c
}

// UsageError reports a wrong command line (exit code 2).
type UsageError struct{ Msg string }

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// ExitError carries an explicit exit code with its message; an empty message prints
// nothing (the command already said what happened).
type ExitError struct {
	Code int
	Err  error
}

// Error returns the message of the wrapped error.
func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *ExitError) Unwrap() error { return e.Err }

// Run runs the command line args (without the program name), writing results to
// stdout and errors and progress to stderr, and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	return RunContext(context.Background(), args, stdout, stderr)
}

// RunContext is Run under ctx: cancelling ctx (on SIGINT, say) stops a wait or a bulk
// operation, and the exit code is ExitInterrupted.
func RunContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, args, stdout, stderr, isTerminal(stdout) && isTerminal(stderr))
}

// globals are the flags before the command.
type globals struct {
	db, pg, schema string
	connectTimeout time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer, terminal bool) int {
	var g globals
	fs := globalFlags(&g)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
			return ExitOK
		}
		fmt.Fprintf(stderr, "duroxide: %v\n", err)
		fmt.Fprintln(stderr, "run 'duroxide help' for the commands and flags")
		return ExitUsage
	}
	if fs.NArg() == 0 {
		printUsage(stderr, fs)
		return ExitUsage
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "duroxide: unknown command %q\n", name)
		fmt.Fprintln(stderr, "run 'duroxide help' for the commands")
		return ExitUsage
	}
	env := &Env{Stdout: stdout, Stderr: stderr, Terminal: terminal}
	if !cmd.NoStore && !wantsHelp(rest) {
		client, desc, closeStore, err := openStore(ctx, g)
		if err != nil {
			if ctx.Err() != nil {
				fmt.Fprintln(stderr, "duroxide: interrupted")
				return ExitInterrupted
			}
			fmt.Fprintf(stderr, "duroxide: %v\n", err)
			return exitCode(err)
		}
		defer closeStore()
		env.Client, env.Store = client, desc
	}
	if err := cmd.Run(ctx, env, rest); err != nil {
		var hr *helpRequest
		if errors.As(err, &hr) {
			fmt.Fprint(stdout, hr.text)
			return ExitOK
		}
		// Whatever the failing call said (a driver may report a cancelled query its own
		// way), a command failing after the context ended was interrupted.
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "duroxide %s: interrupted\n", cmd.Name)
			return ExitInterrupted
		}
		return report(stderr, cmd, err)
	}
	return ExitOK
}

// wantsHelp reports whether a command's arguments ask for its help (before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--h", "--help":
			return true
		}
	}
	return false
}

// report prints err on stderr and returns its exit code.
func report(stderr io.Writer, cmd Command, err error) int {
	code := exitCode(err)
	var ee *ExitError
	if errors.As(err, &ee) && ee.Err == nil {
		return code
	}
	fmt.Fprintf(stderr, "duroxide %s: %v\n", cmd.Name, err)
	var ue *UsageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "usage: duroxide [global flags] %s %s\n", cmd.Name, cmd.Args)
	}
	return code
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var ee *ExitError
	var ue *UsageError
	switch {
	case errors.As(err, &ee):
		return ee.Code
	case errors.As(err, &ue), errors.Is(err, duroxide.ErrInvalidInput):
		return ExitUsage
	case errors.Is(err, duroxide.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, duroxide.ErrTimeout):
		return ExitTimeout
	default:
		return ExitFailed
	}
}

// openStore opens the store the global flags name and returns a client on it.
func openStore(ctx context.Context, g globals) (*duroxide.Client, string, func(), error) {
	var (
		store history.Store
		desc  string
	)
	if g.db == "" && g.pg == "" {
		// The environment names a store only when the command line does not, so that a
		// flag always wins over an exported default of the other kind.
		g.db, g.pg = os.Getenv("DUROXIDE_DB"), os.Getenv("DUROXIDE_PG")
	}
	switch {
	case g.db != "" && g.pg != "":
		return nil, "", nil, usagef("give either -db or -pg, not both")
	case g.db != "":
		st, err := os.Stat(g.db)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, "", nil, usagef("database file %q does not exist (the CLI never creates one)", g.db)
			}
			return nil, "", nil, fmt.Errorf("database file %q: %w", g.db, err)
		}
		if st.IsDir() {
			return nil, "", nil, usagef("-db %q is a directory, not a database file", g.db)
		}
		s, err := sqlitestore.Open(g.db)
		if err != nil {
			return nil, "", nil, fmt.Errorf("open SQLite database %q: %w", g.db, err)
		}
		store, desc = s, fmt.Sprintf("sqlite %q", g.db)
	case g.pg != "":
		cctx, cancel := context.WithTimeout(ctx, g.connectTimeout)
		defer cancel()
		s, err := pgstore.ConnectWithSchema(cctx, g.pg, g.schema, pgstore.WithMaxConns(4))
		if err != nil {
			return nil, "", nil, fmt.Errorf("connect to PostgreSQL (schema %q): %w", g.schema, err)
		}
		store, desc = s, fmt.Sprintf("postgres schema %q", g.schema)
	default:
		return nil, "", nil, usagef("no store: give -db FILE (SQLite) or -pg URL (PostgreSQL) before the command")
	}
	closeStore := func() {
		if c, ok := store.(io.Closer); ok {
			_ = c.Close()
		}
	}
	return duroxide.NewClient(store), desc, closeStore, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// globalFlags declares the flags that come before the command.
func globalFlags(g *globals) *flag.FlagSet {
	fs := flag.NewFlagSet("duroxide", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&g.db, "db", "", "SQLite database `file` (when neither -db nor -pg is given: $DUROXIDE_DB)")
	fs.StringVar(&g.pg, "pg", "", "PostgreSQL connection `URL` (when neither -db nor -pg is given: $DUROXIDE_PG)")
	fs.StringVar(&g.schema, "schema", envOr("DUROXIDE_SCHEMA", "public"), "PostgreSQL `schema` ($DUROXIDE_SCHEMA when set)")
	fs.DurationVar(&g.connectTimeout, "connect-timeout", 15*time.Second, "how long to keep trying to reach PostgreSQL")
	return fs
}

// printUsage lists the global flags and the commands.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "usage: duroxide [global flags] COMMAND [arguments] [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Global flags (before the command):")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %-9s %s\n", n, c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'duroxide help COMMAND' for a command's arguments and flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 timeout, 130 interrupted.")
}

func init() {
	Register(Command{
		Name: "help", Args: "[COMMAND]", Summary: "show the commands, or one command's flags", NoStore: true,
		Run: runHelp,
	})
}

func runHelp(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		printUsage(env.Stdout, globalFlags(&globals{}))
		return nil
	}
	if len(args) > 1 {
		return usagef("help takes at most one command name")
	}
	c, ok := commands[args[0]]
	if !ok {
		return usagef("unknown command %q", args[0])
	}
	if c.NoStore {
		fmt.Fprintf(env.Stdout, "usage: duroxide %s %s\n\n%s\n", c.Name, c.Args, capitalize(c.Summary))
		return nil
	}
	// Every store command parses its flags before touching the store, so -h is safe
	// without one.
	return c.Run(ctx, &Env{Stdout: env.Stdout, Stderr: env.Stderr}, []string{"-h"})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}
