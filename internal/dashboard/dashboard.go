// Package dashboard serves the duroxide web dashboard: server-rendered pages over a
// Client (instance list, instance page with its history as a timeline, the instance
// tree) and the actions raise event, cancel and delete, behind a confirmation step.
//
// The handler is meant for operators on the machine or network of the store, and
// defends itself accordingly: requests whose Host header is neither loopback nor an
// allowed host are refused (DNS rebinding), actions are POSTs that carry a per-session
// CSRF token, an optional access token guards every page, and responses carry a strict
// Content-Security-Policy (scripts from the dashboard itself only).
package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/duroxide-go/duroxide"
)

// Options configure the dashboard. The zero value serves every page and action to
// loopback clients without an access token.
type Options struct {
	// ReadOnly hides the actions and refuses them (403).
	ReadOnly bool
	// AccessToken, when set, guards every page: a request carries it as
	// "Authorization: Bearer TOKEN", or once as ?token=TOKEN, which sets an HttpOnly,
	// SameSite=Strict cookie for the following requests.
	AccessToken string
	// AllowedHosts are the Host header values (a name or address, with or without a
	// port) accepted besides loopback ones (localhost, 127.0.0.0/8, ::1).
	AllowedHosts []string
	// Metrics, when non-nil, is served at /metrics (behind the same checks).
	Metrics http.Handler
	// RequestTimeout bounds the store calls of one request (default 30 s).
	RequestTimeout time.Duration
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const (
	sessionCookie = "duroxide_session"
	tokenCookie   = "duroxide_token"
	// defaultPageSize is the number of instances on one page of the list.
	defaultPageSize = 50
)

// server is the dashboard handler.
type server struct {
	client  *duroxide.Client
	opts    Options
	secret  []byte
	pages   map[string]*template.Template
	mux     *http.ServeMux
	allowed map[string]bool
	// pageSize is the number of instances on one page of the list.
	pageSize int
}

// New returns the dashboard for client. It fails when the embedded templates do not
// parse (a build problem) or when the random source fails.
func New(client *duroxide.Client, opts Options) (http.Handler, error) {
	if client == nil {
		return nil, errors.New("dashboard: a client is required")
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	s := &server{client: client, opts: opts, secret: make([]byte, 32), allowed: map[string]bool{}, pageSize: defaultPageSize}
	if _, err := rand.Read(s.secret); err != nil {
		return nil, fmt.Errorf("dashboard: server secret: %w", err)
	}
	for _, h := range opts.AllowedHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h != "" {
			s.allowed[h] = true
		}
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	s.pages = pages
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard: static files: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleList)
	mux.HandleFunc("GET /instance", s.handleInstance)
	mux.HandleFunc("POST /action", s.handleAction)
	mux.HandleFunc("GET /api/instances", s.handleAPIList)
	mux.HandleFunc("GET /api/instance", s.handleAPIInstance)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler(static)))
	if opts.Metrics != nil {
		mux.Handle("GET /metrics", opts.Metrics)
	}
	s.mux = mux
	return s, nil
}

// parseTemplates parses each page with the shared layout.
func parseTemplates() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"time":     fmtTime,
		"duration": fmtDuration,
		"query":    url.QueryEscape,
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"list", "instance", "confirm", "message"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// staticHandler serves the embedded CSS and JS; they change only with the binary.
func staticHandler(static fs.FS) http.Handler {
	files := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

// ServeHTTP applies the checks every request goes through, then routes it.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if !s.hostAllowed(r.Host) {
		s.fail(w, r, http.StatusForbidden, "Host not allowed",
			fmt.Sprintf("This dashboard does not answer to the host name %q. Start it with -allow-host to accept it.", r.Host))
		return
	}
	if !s.authorized(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

// hostAllowed reports whether the Host header names this machine's loopback interface
// or an allowed host: a page of another site that resolves its own name to 127.0.0.1
// (DNS rebinding) sends its own name and is refused.
func (s *server) hostAllowed(hostport string) bool {
	hostport = strings.ToLower(hostport)
	if s.allowed[hostport] {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if s.allowed[host] {
		return true
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authorized checks the access token, when one is set. A valid ?token= sets the cookie
// and redirects to the same URL without it, so the token does not stay in the address
// bar or the history. It writes the refusal itself and returns false.
func (s *server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.AccessToken == "" {
		return true
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		if t, ok := strings.CutPrefix(auth, "Bearer "); ok && s.tokenMatches(t) {
			return true
		}
	}
	if c, err := r.Cookie(tokenCookie); err == nil && hmac.Equal([]byte(c.Value), []byte(s.tokenCookieValue())) {
		return true
	}
	if t := r.URL.Query().Get("token"); t != "" && r.Method == http.MethodGet && s.tokenMatches(t) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.tokenCookieValue(), Path: "/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		u := *r.URL
		q := u.Query()
		q.Del("token")
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="duroxide"`)
	s.fail(w, r, http.StatusUnauthorized, "Access token required",
		"Open the dashboard with ?token=TOKEN once (the token it was started with), or send Authorization: Bearer TOKEN.")
	return false
}

func (s *server) tokenMatches(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.opts.AccessToken)) == 1
}

// tokenCookieValue is what the token cookie holds: a MAC of the token under this
// process's secret, so the cookie never carries the token itself and dies with the
// process.
func (s *server) tokenCookieValue() string {
	return s.mac("token:" + s.opts.AccessToken)
}

func (s *server) mac(msg string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken returns the CSRF token of the request's session, starting a session (a
// random HttpOnly, SameSite=Strict cookie) when there is none. The token is a MAC of the
// session id, so a cookie planted by another site cannot be paired with a token it
// could compute.
func (s *server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && len(c.Value) >= 16 {
		return s.mac("csrf:" + c.Value)
	}
	var b [18]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail (it panics first)
	id := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return s.mac("csrf:" + id)
}

// csrfValid checks a POST: the form's token must be the MAC of the session cookie, and
// an Origin header, when the browser sends one, must name this host.
func (s *server) csrfValid(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return false
		}
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) < 16 {
		return false
	}
	return hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(s.mac("csrf:"+c.Value)))
}
