// Package faultreg is an OCI registry on 127.0.0.1 for tests, wrapping
// go-containerregistry's in-memory registry with per-request fault
// injection (error statuses, closed and reset connections, requests never
// answered, slow bodies, substituted manifests, latency) and a log of every
// request, so tests can check which registry served what.
package faultreg

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Fault is what the registry does to a matching request.
type Fault string

const (
	None         Fault = ""
	NotFound     Fault = "404"          // 404 with a registry error body
	Unauthorized Fault = "401"          // 401 UNAUTHORIZED with a Basic challenge
	Forbidden    Fault = "403"          // 403 DENIED
	TooMany      Fault = "429"          // 429 TOOMANYREQUESTS
	Unavailable  Fault = "503"          // 503 UNAVAILABLE
	Close        Fault = "close"        // connection closed without a response
	Reset        Fault = "reset"        // connection reset (RST) without a response
	Hang         Fault = "hang"         // request read, never answered
	SlowBody     Fault = "slow-body"    // headers at once, body trickles
	WrongDigest  Fault = "wrong-digest" // manifests of another repo:tag (Rule.Other)
	Latency      Fault = "latency"      // answered normally after Rule.Delay
	Truncate     Fault = "truncate"     // full length announced, half the body sent, connection closed
)

// Kind selects requests by what they fetch.
type Kind string

const (
	AnyKind   Kind = ""
	Manifests Kind = "manifests"
	Blobs     Kind = "blobs"
)

// Rule injects a fault into matching requests. The first matching rule of
// the registry applies.
type Rule struct {
	Repo string // repository path, e.g. library/alpine; "" matches all requests, including /v2/
	Kind Kind
	// Ref, if set, is the tag or digest the request names (one blob).
	Ref   string
	Fault Fault
	// Times limits the rule to its first n matches; 0 means always.
	Times int
	// Delay is the latency of Latency, and the pause between 64-byte chunks
	// of SlowBody (default 1s).
	Delay time.Duration
	// Other is the repo:tag whose manifest WrongDigest serves instead.
	Other string
}

// Request is one logged request.
type Request struct {
	Method string
	Path   string
	Repo   string
	Kind   Kind
	Status int   // 0 when no response was sent
	Fault  Fault // the fault applied, if any
}

// Registry is a running fault-injecting registry.
type Registry struct {
	Addr string // 127.0.0.1:port

	inner http.Handler
	srv   *http.Server
	ln    net.Listener
	done  chan struct{}
	stop  chan struct{}

	mu    sync.Mutex
	rules []*ruleState
	log   []Request
	auth  string // "Basic <base64>" every request must carry; "" for none
}

type ruleState struct {
	Rule
	used int
}

// Start serves an empty registry on a free port of 127.0.0.1.
func Start() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Addr:  ln.Addr().String(),
		inner: registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ln:    ln,
		done:  make(chan struct{}),
		stop:  make(chan struct{}),
	}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		defer close(r.done)
		_ = r.srv.Serve(ln)
	}()
	return r, nil
}

// Close stops the registry, ending hanging requests.
func (r *Registry) Close() error {
	close(r.stop)
	err := r.srv.Close()
	<-r.done
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// ClosedAddr returns a 127.0.0.1 address nothing listens on: connections to
// it are refused.
func ClosedAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// AddRule appends a fault rule.
func (r *Registry) AddRule(rule Rule) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, &ruleState{Rule: rule})
}

// RequireBasicAuth makes every request (except Push's) need HTTP basic
// auth with user and password, answering 401 with a Basic challenge
// otherwise, as a registry that wants a docker login does.
func (r *Registry) RequireBasicAuth(user, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// ClearRules removes every rule.
func (r *Registry) ClearRules() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = nil
}

// Log returns the requests so far.
func (r *Registry) Log() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.log...)
}

// ResetLog forgets logged requests.
func (r *Registry) ResetLog() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = nil
}

// Served reports whether the registry answered a GET of kind for repo with
// 200 (or 206, part of a blob) and no fault: it served that content.
func (r *Registry) Served(repo string, kind Kind) bool {
	for _, q := range r.Log() {
		if q.Repo == repo && q.Kind == kind && q.Method == http.MethodGet && (q.Status == http.StatusOK || q.Status == http.StatusPartialContent) && q.Fault == None {
			return true
		}
	}
	return false
}

// Requested reports whether any request for repo reached the registry.
func (r *Registry) Requested(repo string) bool {
	for _, q := range r.Log() {
		if q.Repo == repo {
			return true
		}
	}
	return false
}

// Push writes img to repo:tag in this registry, bypassing faults, and
// returns its digest.
func (r *Registry) Push(ctx context.Context, repoTag string, img v1.Image) (v1.Hash, error) {
	// Push through a side door on its own port so that faults and the log
	// only see the requests under test.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return v1.Hash{}, err
	}
	srv := &http.Server{Handler: r.inner, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	ref, err := name.ParseReference(ln.Addr().String()+"/"+repoTag, name.Insecure)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, err
	}
	return img.Digest()
}

// NewImage makes a small single-platform image (platform like
// "linux/amd64") whose one layer holds files (path to content).
func NewImage(platform string, files map[string]string) (v1.Image, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		hdr := &tar.Header{Name: p, Mode: 0o644, Size: int64(len(files[p])), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(files[p])); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	cfg.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	return mutate.ConfigFile(img, cfg)
}

// parse splits /v2/<repo>/(manifests|blobs)/<ref>.
func parse(path string) (repo string, kind Kind, ref string) {
	p, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		return "", AnyKind, ""
	}
	for _, k := range []Kind{Manifests, Blobs} {
		if i := strings.LastIndex(p, "/"+string(k)+"/"); i >= 0 {
			return p[:i], k, p[i+len(k)+2:]
		}
	}
	return "", AnyKind, ""
}

func (r *Registry) match(repo string, kind Kind, ref string) *Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range r.rules {
		if rs.Repo != "" && rs.Repo != repo {
			continue
		}
		if rs.Ref != "" && rs.Ref != ref {
			continue
		}
		if rs.Kind != AnyKind && rs.Kind != kind {
			continue
		}
		if rs.Times > 0 && rs.used >= rs.Times {
			continue
		}
		rs.used++
		rule := rs.Rule
		return &rule
	}
	return nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	repo, kind, ref := parse(req.URL.Path)
	sw := &statusWriter{ResponseWriter: w}
	r.mu.Lock()
	denied := r.auth != "" && req.Header.Get("Authorization") != r.auth
	r.mu.Unlock()
	var rule *Rule
	if denied {
		rule = &Rule{Fault: Unauthorized}
	} else {
		rule = r.match(repo, kind, ref)
	}
	fault := None
	if rule != nil {
		fault = rule.Fault
	}
	// Logged on arrival, so that requests never answered show too; the
	// status is filled in when the response is done.
	r.mu.Lock()
	i := len(r.log)
	r.log = append(r.log, Request{Method: req.Method, Path: req.URL.Path, Repo: repo, Kind: kind, Fault: fault})
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if i < len(r.log) && r.log[i].Path == req.URL.Path {
			r.log[i].Status = sw.status
		}
		r.mu.Unlock()
	}()

	if rule == nil {
		r.serveInner(sw, req, kind)
		return
	}
	switch rule.Fault {
	case NotFound:
		registryError(sw, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
	case Unauthorized:
		sw.Header().Set("WWW-Authenticate", `Basic realm="faultreg"`)
		registryError(sw, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
	case Forbidden:
		registryError(sw, http.StatusForbidden, "DENIED", "requested access to the resource is denied")
	case TooMany:
		registryError(sw, http.StatusTooManyRequests, "TOOMANYREQUESTS", "rate limit exceeded")
	case Unavailable:
		registryError(sw, http.StatusServiceUnavailable, "UNAVAILABLE", "service unavailable")
	case Close, Reset, Hang:
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(sw, "cannot hijack", http.StatusInternalServerError)
			return
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return
		}
		switch rule.Fault {
		case Reset:
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // close sends RST
			}
		case Hang:
			select {
			case <-r.stop:
			case <-req.Context().Done():
			}
		}
		conn.Close()
	case SlowBody:
		delay := rule.Delay
		if delay == 0 {
			delay = time.Second
		}
		r.inner.ServeHTTP(&slowWriter{statusWriter: sw, delay: delay, stop: r.stop, ctx: req.Context()}, req)
	case WrongDigest:
		if kind != Manifests || rule.Other == "" {
			r.serveInner(sw, req, kind)
			return
		}
		orepo, otag, _ := strings.Cut(rule.Other, ":")
		req2 := req.Clone(req.Context())
		req2.URL.Path = "/v2/" + orepo + "/manifests/" + otag
		req2.RequestURI = req2.URL.RequestURI()
		r.inner.ServeHTTP(sw, req2)
	case Truncate:
		rec := httptest.NewRecorder()
		full := req.Clone(req.Context())
		full.Header.Del("Range")
		r.inner.ServeHTTP(rec, full)
		for k, v := range rec.Header() {
			sw.Header()[k] = v
		}
		body := rec.Body.Bytes()
		sw.Header().Set("Content-Length", fmt.Sprint(len(body)))
		sw.WriteHeader(rec.Code)
		_, _ = sw.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		// Ends the response short of its length: the client reads EOF.
		panic(http.ErrAbortHandler)
	case Latency:
		select {
		case <-time.After(rule.Delay):
		case <-r.stop:
			return
		case <-req.Context().Done():
			return
		}
		r.serveInner(sw, req, kind)
	default:
		http.Error(sw, fmt.Sprintf("faultreg: unknown fault %q", rule.Fault), http.StatusInternalServerError)
	}
}

// serveInner serves from the in-memory registry, answering Range requests
// for blobs as real registries do (go-containerregistry's answers 416):
// BuildKit resumes an interrupted blob download with one.
func (r *Registry) serveInner(w http.ResponseWriter, req *http.Request, kind Kind) {
	if kind != Blobs || req.Method != http.MethodGet || req.Header.Get("Range") == "" {
		r.inner.ServeHTTP(w, req)
		return
	}
	full := req.Clone(req.Context())
	full.Header.Del("Range")
	rec := httptest.NewRecorder()
	r.inner.ServeHTTP(rec, full)
	if rec.Code != http.StatusOK {
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	for _, k := range []string{"Content-Type", "Docker-Content-Digest"} {
		if v := rec.Header().Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	http.ServeContent(w, req, "", time.Time{}, bytes.NewReader(rec.Body.Bytes()))
}

func registryError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}

// slowWriter sends the body in 64-byte chunks, delay apart.
type slowWriter struct {
	*statusWriter
	delay time.Duration
	stop  chan struct{}
	ctx   context.Context
}

func (w *slowWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		c := min(64, len(b))
		m, err := w.statusWriter.Write(b[:c])
		n += m
		if err != nil {
			return n, err
		}
		if f, ok := w.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		b = b[c:]
		select {
		case <-time.After(w.delay):
		case <-w.stop:
			return n, errors.New("registry closed")
		case <-w.ctx.Done():
			return n, w.ctx.Err()
		}
	}
	return n, nil
}
