package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// npmMirror is a caching proxy of the npm registry on 127.0.0.1 (buildkitd
// runs RUN steps with host networking). Every variant's installs fetch the
// same tarballs from it, so after the first build an install's time is the
// package manager's own work, not the network's: the cold rows then compare
// the frontends, which a 9–16 s spread of the same `npm ci` hid.
type npmMirror struct {
	URL      string
	upstream *url.URL
	client   *http.Client
	srv      *http.Server

	mu     sync.Mutex
	cache  map[string]*cachedResponse
	hits   int
	misses int
	bytes  int64 // served from the network
}

type cachedResponse struct {
	status int
	header http.Header
	body   []byte
}

// cachedHeaders are the response headers a client reads; the rest
// (dates, CDN hops) would make a replayed response misleading.
var cachedHeaders = []string{"Content-Type", "Etag", "Last-Modified", "Npm-Notice"}

func startNpmMirror(upstream string) (*npmMirror, error) {
	u, err := url.Parse(strings.TrimSuffix(upstream, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("npm registry %q is not an http(s) URL", upstream)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m := &npmMirror{URL: "http://" + ln.Addr().String() + "/", upstream: u, cache: map[string]*cachedResponse{},
		client: &http.Client{Timeout: 5 * time.Minute}}
	m.srv = &http.Server{Handler: m, ReadHeaderTimeout: 30 * time.Second}
	go m.srv.Serve(ln)
	return m, nil
}

func (m *npmMirror) Close() error { return m.srv.Close() }

// Stats reports requests served from memory and from the network.
func (m *npmMirror) Stats() (hits, misses int, fetched int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits, m.misses, m.bytes
}

func (m *npmMirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	// Abbreviated and full packuments differ by Accept; npm audit's bulk
	// POST is answered by its body.
	sum := sha256.Sum256(body)
	key := r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("Accept") + " " + hex.EncodeToString(sum[:])
	m.mu.Lock()
	c, ok := m.cache[key]
	if ok {
		m.hits++
	}
	m.mu.Unlock()
	if !ok {
		var err error
		if c, err = m.fetch(r, body); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		m.mu.Lock()
		m.misses++
		m.bytes += int64(len(c.body))
		if c.status == http.StatusOK {
			m.cache[key] = c
		}
		m.mu.Unlock()
	}
	for k, v := range c.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", fmt.Sprint(len(c.body)))
	w.WriteHeader(c.status)
	if r.Method != http.MethodHead {
		w.Write(c.body)
	}
}

func (m *npmMirror) fetch(r *http.Request, body []byte) (*cachedResponse, error) {
	u := *m.upstream
	u.Path = m.upstream.Path + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range []string{"Accept", "Content-Type", "Npm-Command", "User-Agent"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	c := &cachedResponse{status: resp.StatusCode, header: http.Header{}, body: b}
	for _, h := range cachedHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			c.header[h] = v
		}
	}
	return c, nil
}

// mirrorEnv points npm, pnpm and yarn (classic and berry) at the mirror.
// npm and yarn classic take the mirror's host in place of the default
// registry's in lockfile URLs.
func (m *npmMirror) mirrorEnv() []string {
	host := strings.Split(strings.TrimPrefix(m.URL, "http://"), ":")[0]
	return []string{
		"npm_config_registry=" + m.URL,
		"YARN_NPM_REGISTRY_SERVER=" + strings.TrimSuffix(m.URL, "/"),
		"YARN_UNSAFE_HTTP_WHITELIST=" + host,
	}
}

// pointImages adds mirrorEnv to the config of every base image in the
// test bed registry that carries Node.js (NODE_VERSION in its env), in
// place: the registry lives as long as this bench run.
func (m *npmMirror) pointImages(ctx context.Context, registry string, bases []string) ([]string, error) {
	var changed []string
	for _, base := range bases {
		named, err := reference.ParseNormalizedNamed(base)
		if err != nil {
			return nil, err
		}
		tag, err := tagOf(named)
		if err != nil {
			return nil, err
		}
		ref, err := name.ParseReference(registry+"/"+reference.Path(named)+tag, name.Insecure)
		if err != nil {
			return nil, err
		}
		img, err := remote.Image(ref, remote.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", base, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		node := false
		for _, e := range cf.Config.Env {
			node = node || strings.HasPrefix(e, "NODE_VERSION=")
		}
		if !node {
			continue
		}
		cfg := cf.Config
		cfg.Env = append(append([]string(nil), cfg.Env...), m.mirrorEnv()...)
		out, err := mutate.Config(img, cfg)
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, out, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("%s: %w", base, err)
		}
		changed = append(changed, base)
	}
	return changed, nil
}

// tagOf is the tag a base image is pushed under; one pinned by digest
// cannot be changed in place.
func tagOf(n reference.Named) (string, error) {
	if _, ok := n.(reference.Digested); ok {
		return "", fmt.Errorf("%s is pinned by digest: its config cannot point at the npm mirror", n)
	}
	if t, ok := n.(reference.Tagged); ok {
		return ":" + t.Tag(), nil
	}
	return ":latest", nil
}
