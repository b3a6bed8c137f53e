package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNpmMirrorCaches(t *testing.T) {
	calls := 0
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+r.Header.Get("Accept"))
	}))
	defer up.Close()
	m, err := startNpmMirror(up.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	get := func(path, accept string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, m.URL+strings.TrimPrefix(path, "/"), nil)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for i := 0; i < 2; i++ {
		if code, body := get("/vite/-/vite-5.0.0.tgz", "*/*"); code != 200 || body != "GET /vite/-/vite-5.0.0.tgz */*" {
			t.Fatalf("round %d: %d %q", i, code, body)
		}
	}
	// Another Accept is another response (abbreviated packuments).
	if _, body := get("/vite/-/vite-5.0.0.tgz", "application/vnd.npm.install-v1+json"); !strings.HasSuffix(body, "install-v1+json") {
		t.Fatalf("Accept not forwarded: %q", body)
	}
	// Errors are passed on, not kept.
	for i := 0; i < 2; i++ {
		if code, _ := get("/missing", ""); code != 404 {
			t.Fatalf("missing: %d", code)
		}
	}
	hits, misses, _ := m.Stats()
	if calls != 4 || hits != 1 || misses != 4 {
		t.Fatalf("upstream calls %d, hits %d, misses %d; want 4, 1, 4", calls, hits, misses)
	}
}
