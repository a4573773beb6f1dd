// Package determinism is a go/analysis pass that finds code which breaks the replay of
// duroxide orchestrations: reading the clock, random numbers, I/O, goroutines, select and
// channels, ranging over maps, and printing (fmt, log, log/slog), inside orchestration
// functions.
//
// Orchestration functions are the functions and function literals passed to
// (*duroxide.Runtime).RegisterOrchestration, RegisterOrchestrationVersioned,
// duroxide.RegisterOrchestrationTyped and RegisterOrchestrationVersionedTyped, and every
// function whose first parameter is a *yield.Ctx (orchestrations, typed orchestrations,
// blocks passed to ctx.Block, helpers that take the context). The functions of the same
// package they call directly are checked too (one level), with the diagnostic placed in
// the helper.
//
// A line ending with the comment //duroxide:nondeterministic-ok, or following a line that
// holds only that comment, is not reported. Text after the directive is free (a reason).
//
// Run it with go vet: go vet -vettool=$(which duroxide-vet) ./...
package determinism

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/types/typeutil"
)

// Import paths of the duroxide packages the analyzer recognises.
const (
	RootPath  = "github.com/duroxide-go/duroxide"
	YieldPath = "github.com/duroxide-go/duroxide/yield"
)

// Directive silences a diagnostic on its line (or, alone on a line, on the next one).
const Directive = "//duroxide:nondeterministic-ok"

// Analyzer reports nondeterministic code in duroxide orchestration functions.
var Analyzer = &analysis.Analyzer{
	Name: "duroxidedeterminism",
	Doc: `report nondeterministic code in duroxide orchestrations

Orchestrations are replayed from their history and must make the same decisions every
time. Inside functions registered as orchestrations, or taking a *yield.Ctx, this check
reports time.Now/Since/Until, time.Sleep, timers and tickers, math/rand, crypto/rand and
random UUIDs, calls into os, net, net/http, io/ioutil and io, go statements, select
statements, channel sends and receives, ranging over maps and channels, and printing
(fmt.Print*, log.Print*, log/slog, fmt.Fprint* to os.Stdout or os.Stderr), with the
deterministic alternative. Silence one line with a //duroxide:nondeterministic-ok comment.`,
	URL: "https://github.com/duroxide-go/duroxide/blob/main/docs/tools.md#determinism-analyzer",
	Run: run,
}

// registrations maps the registering functions to the index of their function argument.
var registrations = map[string]int{
	"(*" + RootPath + ".Runtime).RegisterOrchestration":          1,
	"(*" + RootPath + ".Runtime).RegisterOrchestrationVersioned": 2,
	RootPath + ".RegisterOrchestrationTyped":                     2,
	RootPath + ".RegisterOrchestrationVersionedTyped":            3,
}

type checker struct {
	pass    *analysis.Pass
	decls   map[*types.Func]*ast.FuncDecl // functions declared in the package
	roots   map[ast.Node]bool             // orchestration bodies (*ast.FuncDecl, *ast.FuncLit)
	helpers map[*types.Func]bool          // helpers already checked
	quiet   map[string]map[int]bool       // file name -> lines silenced by the directive
	seen    map[token.Pos]bool            // diagnostics already reported
}

func run(pass *analysis.Pass) (any, error) {
	if pass.Pkg.Path() == YieldPath {
		return nil, nil // the scheduler itself, whose helpers take the context it drives
	}
	c := &checker{
		pass:    pass,
		decls:   map[*types.Func]*ast.FuncDecl{},
		roots:   map[ast.Node]bool{},
		helpers: map[*types.Func]bool{},
		quiet:   map[string]map[int]bool{},
		seen:    map[token.Pos]bool{},
	}
	for _, f := range pass.Files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil {
				if fn, ok := pass.TypesInfo.Defs[fd.Name].(*types.Func); ok {
					c.decls[fn] = fd
				}
			}
		}
	}
	var order []ast.Node // roots in source order, for stable output
	addRoot := func(n ast.Node) {
		if !c.roots[n] {
			c.roots[n] = true
			order = append(order, n)
		}
	}
	for _, f := range pass.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Body != nil && c.takesCtx(n.Type) {
					addRoot(n)
				}
			case *ast.FuncLit:
				if c.takesCtx(n.Type) {
					addRoot(n)
				}
			case *ast.CallExpr:
				if fn := c.registeredFunc(n); fn != nil {
					addRoot(fn)
				}
			}
			return true
		})
	}
	for _, n := range order {
		switch n := n.(type) {
		case *ast.FuncDecl:
			c.check(n.Body, n, "")
		case *ast.FuncLit:
			c.check(n.Body, n, "")
		}
	}
	return nil, nil
}

// takesCtx reports whether a function type's first parameter is a *yield.Ctx.
func (c *checker) takesCtx(ft *ast.FuncType) bool {
	if ft.Params == nil || len(ft.Params.List) == 0 {
		return false
	}
	return isYieldCtx(c.pass.TypesInfo.TypeOf(ft.Params.List[0].Type))
}

func isYieldCtx(t types.Type) bool {
	p, ok := types.Unalias(t).(*types.Pointer)
	if !ok {
		return false
	}
	named, ok := types.Unalias(p.Elem()).(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == YieldPath && obj.Name() == "Ctx"
}

// registeredFunc returns the body owner of the function a registration call passes, when
// it is a literal or a function of this package.
func (c *checker) registeredFunc(call *ast.CallExpr) ast.Node {
	fn := typeutil.StaticCallee(c.pass.TypesInfo, call)
	if fn == nil {
		return nil
	}
	idx, ok := registrations[fn.Origin().FullName()]
	if !ok || idx >= len(call.Args) {
		return nil
	}
	switch arg := ast.Unparen(call.Args[idx]).(type) {
	case *ast.FuncLit:
		return arg
	case *ast.Ident, *ast.SelectorExpr, *ast.IndexExpr, *ast.IndexListExpr:
		if f := c.funcOf(arg); f != nil {
			if d := c.decls[f]; d != nil {
				return d
			}
		}
	}
	return nil
}

// funcOf resolves a function name, method value or instantiation to its function.
func (c *checker) funcOf(e ast.Expr) *types.Func {
	switch e := e.(type) {
	case *ast.IndexExpr:
		return c.funcOf(e.X)
	case *ast.IndexListExpr:
		return c.funcOf(e.X)
	case *ast.SelectorExpr:
		if sel := c.pass.TypesInfo.Selections[e]; sel != nil {
			if f, ok := sel.Obj().(*types.Func); ok {
				return f.Origin()
			}
			return nil
		}
		return c.funcOf(e.Sel)
	case *ast.Ident:
		if f, ok := c.pass.TypesInfo.Uses[e].(*types.Func); ok {
			return f.Origin()
		}
	}
	return nil
}

// check walks the body of an orchestration (helper == "") or of a helper it calls.
func (c *checker) check(body *ast.BlockStmt, owner ast.Node, helper string) {
	var visit func(n ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			if n != owner && c.roots[n] {
				return false // checked as an orchestration of its own
			}
		case *ast.GoStmt:
			c.report(n.Pos(), n.Go+2, "goroutine", helper,
				"go statement in orchestration code: goroutines run outside the deterministic scheduler; compose with ctx.All, ctx.Race and ctx.Block")
			return false
		case *ast.SelectStmt:
			c.report(n.Pos(), n.Select+6, "select", helper,
				"select in orchestration code waits outside the scheduler and picks at random: use ctx.Race (yield.AwaitRace) to wait for the first of several tasks")
			for _, cc := range n.Body.List {
				for _, s := range cc.(*ast.CommClause).Body {
					ast.Inspect(s, visit)
				}
			}
			return false
		case *ast.SendStmt:
			c.report(n.Pos(), n.End(), "channel", helper,
				"channel send in orchestration code blocks outside the scheduler: exchange data through durable tasks (activities, ctx.WaitForEvent, ctx.DequeueEvent)")
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				c.report(n.Pos(), n.End(), "channel", helper,
					"channel receive in orchestration code blocks outside the scheduler: wait on durable tasks instead (ctx.WaitForEvent, ctx.DequeueEvent, ctx.All)")
			}
		case *ast.RangeStmt:
			c.checkRange(n, helper)
		case *ast.CallExpr:
			c.checkCall(n, helper)
		}
		return true
	}
	ast.Inspect(body, visit)
}

func (c *checker) checkRange(n *ast.RangeStmt, helper string) {
	t := c.pass.TypesInfo.TypeOf(n.X)
	if t == nil {
		return
	}
	switch t.Underlying().(type) {
	case *types.Map:
		c.report(n.X.Pos(), n.X.End(), "map-range", helper,
			"ranging over a map visits keys in random order, so a replay may decide in another order: range over sorted keys (slices.Sorted(maps.Keys(m)))")
		return
	case *types.Chan:
		c.report(n.X.Pos(), n.X.End(), "channel", helper,
			"ranging over a channel in orchestration code blocks outside the scheduler: wait on durable tasks instead (ctx.WaitForEvent, ctx.DequeueEvent)")
		return
	}
	if call, ok := ast.Unparen(n.X).(*ast.CallExpr); ok {
		if fn := typeutil.StaticCallee(c.pass.TypesInfo, call); fn != nil && fn.Pkg() != nil && fn.Pkg().Path() == "maps" {
			switch fn.Name() {
			case "Keys", "Values", "All":
				c.report(n.X.Pos(), n.X.End(), "map-range", helper, fmt.Sprintf(
					"maps.%s yields in random order, so a replay may decide in another order: range over sorted keys (slices.Sorted(maps.Keys(m)))", fn.Name()))
			}
		}
	}
}

func (c *checker) checkCall(call *ast.CallExpr, helper string) {
	fn := typeutil.StaticCallee(c.pass.TypesInfo, call)
	if fn == nil {
		fn = c.interfaceMethod(call)
	}
	if fn == nil || fn.Pkg() == nil {
		return
	}
	if rule, msg := classify(fn); rule != "" {
		c.report(call.Pos(), call.End(), rule, helper, msg)
		return
	}
	if c.printsToStdio(fn, call) {
		c.report(call.Pos(), call.End(), "print", helper,
			qualified(fn)+" to the standard output prints again on every replay: use ctx.TraceInfo (silent while replaying)")
		return
	}
	// One level into functions of this package that are not orchestrations themselves.
	if helper == "" && fn.Pkg() == c.pass.Pkg {
		fn = fn.Origin()
		if d := c.decls[fn]; d != nil && !c.roots[d] && !c.helpers[fn] {
			c.helpers[fn] = true
			c.check(d.Body, d, fn.Name())
		}
	}
}

// printsToStdio reports whether call is fmt.Fprint* to os.Stdout or os.Stderr.
func (c *checker) printsToStdio(fn *types.Func, call *ast.CallExpr) bool {
	if fn.Pkg().Path() != "fmt" || !strings.HasPrefix(fn.Name(), "Fprint") || len(call.Args) == 0 {
		return false
	}
	sel, ok := ast.Unparen(call.Args[0]).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	v, ok := c.pass.TypesInfo.Uses[sel.Sel].(*types.Var)
	return ok && v.Pkg() != nil && v.Pkg().Path() == "os" && (v.Name() == "Stdout" || v.Name() == "Stderr")
}

// interfaceMethod returns the method an interface call (r.Read) invokes.
func (c *checker) interfaceMethod(call *ast.CallExpr) *types.Func {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return nil
	}
	s := c.pass.TypesInfo.Selections[sel]
	if s == nil || s.Kind() != types.MethodVal {
		return nil
	}
	f, _ := s.Obj().(*types.Func)
	return f
}

// ioPackages are packages whose calls do I/O (pure helpers excepted).
var ioPackages = map[string]bool{
	"os": true, "os/exec": true, "os/user": true, "os/signal": true,
	"net": true, "net/http": true, "io/ioutil": true, "io": true,
}

// pureIO are calls of those packages that compute without I/O.
var pureIO = map[string]bool{
	"os.IsExist": true, "os.IsNotExist": true, "os.IsPermission": true, "os.IsTimeout": true,
	"os.IsPathSeparator": true, "os.NewSyscallError": true,
	"net.ParseIP": true, "net.ParseCIDR": true, "net.ParseMAC": true, "net.JoinHostPort": true,
	"net.SplitHostPort": true, "net.IPv4": true, "net.IPv4Mask": true, "net.CIDRMask": true,
	"net/http.StatusText": true, "net/http.CanonicalHeaderKey": true, "net/http.DetectContentType": true,
	"net/http.ParseHTTPVersion": true, "net/http.ParseTime": true,
	"io.NopCloser": true, "io.MultiReader": true, "io.MultiWriter": true, "io.LimitReader": true,
	"io.NewSectionReader": true, "io.TeeReader": true, "io.NewOffsetWriter": true,
	"io/ioutil.NopCloser": true,
}

// classify returns the rule a call breaks and its message, or "".
func classify(fn *types.Func) (rule, msg string) {
	path, name := fn.Pkg().Path(), fn.Name()
	sig, _ := fn.Type().(*types.Signature)
	method := sig != nil && sig.Recv() != nil
	qual := path + "." + name
	display := qualified(fn)
	switch path {
	case "time":
		if method {
			return "", ""
		}
		switch name {
		case "Now", "Since", "Until":
			return "clock", display + " reads the wall clock, which differs on replay: use ctx.UtcNow() (or yield.Now(ctx)) in orchestration code"
		case "Sleep":
			return "sleep", "time.Sleep blocks outside the scheduler and is not durable: use ctx.ScheduleTimer(d)"
		case "After", "Tick", "NewTimer", "NewTicker", "AfterFunc":
			return "timer", display + " is a timer outside the scheduler and is not durable: use ctx.ScheduleTimer(d), with ctx.Race for a timeout"
		}
	case "math/rand", "math/rand/v2":
		if method || strings.HasPrefix(name, "New") {
			return "", "" // a generator with a fixed seed is deterministic; its seed is checked
		}
		return "random", display + " gives other values on replay: use ctx.NewGUID(), or draw random numbers in an activity"
	case "github.com/google/uuid":
		if !method && strings.HasPrefix(name, "New") && name != "NewHash" && name != "NewMD5" && name != "NewSHA1" {
			return "random", display + " gives another id on replay: use ctx.NewGUID()"
		}
	case "crypto/rand":
		return "random", display + " gives other values on replay: use ctx.NewGUID(), or draw random bytes in an activity"
	case "fmt":
		switch name {
		case "Print", "Printf", "Println":
			return "print", display + " prints again on every replay: use ctx.TraceInfo (silent while replaying)"
		}
	case "log":
		if strings.HasPrefix(name, "Print") || strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Panic") {
			return "print", display + " logs again on every replay: use ctx.TraceInfo (silent while replaying), and return an error to fail"
		}
	case "log/slog":
		switch strings.TrimSuffix(name, "Context") {
		case "Debug", "Info", "Warn", "Error", "Log", "LogAttrs":
			return "print", display + " logs again on every replay: use ctx.TraceInfo, TraceWarn, TraceError or TraceDebug (silent while replaying)"
		}
	}
	if ioPackages[path] && !pureIO[qual] {
		return "io", display + " does I/O, whose result can differ on replay: do it in an activity (ctx.ScheduleActivity)"
	}
	return "", ""
}

// qualified renders a function as users write it: time.Now, (*os.File).Write, io.Reader.Read.
func qualified(fn *types.Func) string {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return fn.Pkg().Name() + "." + fn.Name()
	}
	t := sig.Recv().Type()
	ptr := ""
	if p, ok := t.(*types.Pointer); ok {
		t, ptr = p.Elem(), "*"
	}
	if named, ok := types.Unalias(t).(*types.Named); ok {
		recv := named.Obj().Pkg().Name() + "." + named.Obj().Name()
		if ptr != "" {
			return "(" + ptr + recv + ")." + fn.Name()
		}
		return recv + "." + fn.Name()
	}
	return fn.Pkg().Name() + "." + fn.Name()
}

// report emits one diagnostic unless the line is silenced or it was reported already.
func (c *checker) report(pos, end token.Pos, rule, helper, msg string) {
	if c.seen[pos] || c.silenced(pos) {
		return
	}
	c.seen[pos] = true
	if helper != "" {
		msg += " (in " + helper + ", called from orchestration code)"
	}
	c.pass.Report(analysis.Diagnostic{Pos: pos, End: end, Category: rule, Message: msg})
}

// silenced reports whether pos is on a line the directive covers.
func (c *checker) silenced(pos token.Pos) bool {
	p := c.pass.Fset.Position(pos)
	lines, ok := c.quiet[p.Filename]
	if !ok {
		lines = c.directiveLines(pos)
		c.quiet[p.Filename] = lines
	}
	return lines[p.Line]
}

// directiveLines finds the lines the directive covers in the file holding pos: its own
// line, and the next one when the comment stands alone on its line.
func (c *checker) directiveLines(pos token.Pos) map[int]bool {
	lines := map[int]bool{}
	tf := c.pass.Fset.File(pos)
	if tf == nil {
		return lines
	}
	var file *ast.File
	for _, f := range c.pass.Files {
		if c.pass.Fset.File(f.Pos()) == tf {
			file = f
			break
		}
	}
	if file == nil {
		return lines
	}
	var src []byte
	if c.pass.ReadFile != nil {
		src, _ = c.pass.ReadFile(tf.Name())
	}
	for _, cg := range file.Comments {
		for _, cm := range cg.List {
			if !isDirective(cm.Text) {
				continue
			}
			line := tf.Line(cm.Pos())
			lines[line] = true
			start := tf.Offset(tf.LineStart(line))
			off := tf.Offset(cm.Pos())
			if src != nil && off <= len(src) && len(bytes.TrimSpace(src[start:off])) == 0 {
				lines[line+1] = true
			}
		}
	}
	return lines
}

func isDirective(text string) bool {
	rest, ok := strings.CutPrefix(text, Directive)
	return ok && (rest == "" || rest[0] == ' ' || rest[0] == '\t')
}
