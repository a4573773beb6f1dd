package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/internal/dashboard"
)

// MetricsHandler, when set, makes serve answer /metrics with the handler it returns for
// the command's client. The core module does not depend on the Prometheus client, so
// the duroxide binary (cmd/duroxide, a module of its own) sets it from promexporter;
// nil serves no /metrics.
var MetricsHandler func(c *duroxide.Client) http.Handler

func init() {
	Register(Command{Name: "serve", Args: "[-addr HOST:PORT] [-read-only] [-token T] [-allow-host H]... [-insecure]",
		Summary: "serve the web dashboard (and /metrics) until interrupted", Run: runServe})
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func runServe(ctx context.Context, env *Env, args []string) error {
	cmd := commands["serve"]
	fs := newFlags(cmd.Name)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT` (loopback by default)")
	readOnly := fs.Bool("read-only", false, "hide and refuse the actions (raise, cancel, delete)")
	token := fs.String("token", os.Getenv("DUROXIDE_DASHBOARD_TOKEN"), "access `token` guarding every page ($DUROXIDE_DASHBOARD_TOKEN when set)")
	var allow stringList
	fs.Var(&allow, "allow-host", "accept requests for `HOST` besides loopback names (repeatable; DNS-rebinding defence)")
	insecure := fs.Bool("insecure", false, "allow a non-loopback -addr without -token")
	if _, err := parseArgs(fs, cmd, args, 0, 0); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("-addr %q is not HOST:PORT: %v", *addr, err)
	}
	loopback := isLoopbackHost(host)
	if !loopback && *token == "" && !*insecure {
		return usagef("refusing to serve on %s, reachable from other machines, without -token (give -insecure to do it anyway)", *addr)
	}
	hosts := append([]string(nil), allow...)
	if !loopback && host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			hosts = append(hosts, host) // the name the server was asked to listen on
		}
	}
	opts := dashboard.Options{ReadOnly: *readOnly, AccessToken: *token, AllowedHosts: hosts}
	if MetricsHandler != nil {
		opts.Metrics = MetricsHandler(env.Client)
	}
	h, err := dashboard.New(env.Client, opts)
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	u := "http://" + browseAddr(ln.Addr()) + "/"
	fmt.Fprintf(env.Stderr, "duroxide dashboard on %s (%s)", u, env.Store)
	if *readOnly {
		fmt.Fprint(env.Stderr, ", read-only")
	}
	if MetricsHandler != nil {
		fmt.Fprintf(env.Stderr, ", metrics at %smetrics", u)
	}
	fmt.Fprintln(env.Stderr)
	if *token != "" {
		fmt.Fprintf(env.Stderr, "open %s?token=%s once to sign in (or send Authorization: Bearer)\n", u, *token)
	}
	fmt.Fprintln(env.Stderr, "press Ctrl-C to stop")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("shut down the dashboard: %w", err)}
	}
	fmt.Fprintln(env.Stderr, "duroxide dashboard stopped")
	return nil
}

// isLoopbackHost reports whether a listen host is a loopback name or address; "" (all
// interfaces) is not.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// browseAddr is the address to open in a browser for a listener: on all interfaces,
// the loopback name (which the Host check accepts).
func browseAddr(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return net.JoinHostPort("localhost", strconv.Itoa(ta.Port))
	}
	return a.String()
}
