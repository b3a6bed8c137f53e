package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"
)

// goProxyLog is a Go module proxy on 127.0.0.1 that forwards every request
// to a real proxy and records the paths asked for. buildkitd runs RUN
// steps with host networking, so a build reaches it with
// GOPROXY=http://127.0.0.1:PORT and the log shows what the build fetched.
type goProxyLog struct {
	URL string

	srv  *http.Server
	mu   sync.Mutex
	reqs []string
}

// startGoProxyLog starts the logging proxy in front of the host's Go proxy
// (the first entry of `go env GOPROXY`). The test skips when that proxy
// is unreachable, unless CI=true.
func startGoProxyLog(t *testing.T) *goProxyLog {
	t.Helper()
	upstream := hostGoProxy(t)
	if err := probeGoProxy(upstream); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Go module proxy %s unreachable: %v", upstream, err)
		}
		t.Skipf("Go module proxy %s unreachable (the test fetches modules through it): %v", upstream, err)
	}
	p := &goProxyLog{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(upstream) // also sets Host to the upstream's
		},
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.reqs = append(p.reqs, r.URL.Path)
		p.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.URL = "http://" + ln.Addr().String()
	go p.srv.Serve(ln)
	t.Cleanup(func() { p.srv.Close() })
	return p
}

func hostGoProxy(t *testing.T) *url.URL {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env GOPROXY: %v", err)
	}
	first := strings.TrimSpace(strings.FieldsFunc(string(out), func(r rune) bool { return r == ',' || r == '|' })[0])
	u, err := url.Parse(first)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		msg := fmt.Sprintf("the host's GOPROXY starts with %q, not a proxy URL to forward to", first)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return u
}

func probeGoProxy(u *url.URL) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.JoinPath("golang.org/x/mod/@v/list").String(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	}
	return nil
}

// take returns the paths requested since the last take and clears them.
func (p *goProxyLog) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.reqs
	p.reqs = nil
	return r
}

// zips are the module@version pairs whose .zip the requests fetched,
// sorted, module paths and versions unescaped.
func zips(t *testing.T, reqs []string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range reqs {
		mod, file, ok := strings.Cut(strings.TrimPrefix(r, "/"), "/@v/")
		if !ok || !strings.HasSuffix(file, ".zip") {
			continue
		}
		path, err := module.UnescapePath(mod)
		if err != nil {
			t.Fatalf("proxy request %s: %v", r, err)
		}
		ver, err := module.UnescapeVersion(strings.TrimSuffix(file, ".zip"))
		if err != nil {
			t.Fatalf("proxy request %s: %v", r, err)
		}
		seen[path+"@"+ver] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
