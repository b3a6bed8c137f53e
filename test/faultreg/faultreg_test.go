package faultreg

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func start(t *testing.T) (*Registry, v1.Hash, v1.Hash) {
	t.Helper()
	r, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ctx := context.Background()
	a, err := NewImage("linux/amd64", map[string]string{"a": "a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewImage("linux/amd64", map[string]string{"b": strings.Repeat("b", 1000)})
	if err != nil {
		t.Fatal(err)
	}
	da, err := r.Push(ctx, "library/a:1", a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := r.Push(ctx, "library/b:1", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Log()) != 0 {
		t.Fatalf("pushes were logged: %v", r.Log())
	}
	return r, da, db
}

func get(t *testing.T, r *Registry, path string, timeout time.Duration) (*http.Response, []byte, error) {
	t.Helper()
	c := &http.Client{Timeout: timeout}
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.Addr+path, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestFaults(t *testing.T) {
	r, _, _ := start(t)
	for _, tc := range []struct {
		fault  Fault
		status int
	}{{NotFound, 404}, {Unauthorized, 401}, {Forbidden, 403}, {TooMany, 429}, {Unavailable, 503}} {
		r.ClearRules()
		r.AddRule(Rule{Repo: "library/a", Kind: Manifests, Fault: tc.fault})
		resp, _, err := get(t, r, "/v2/library/a/manifests/1", 10*time.Second)
		if err != nil || resp.StatusCode != tc.status {
			t.Errorf("%s: got %v %v", tc.fault, resp, err)
		}
		// Other repos are untouched.
		resp, _, err = get(t, r, "/v2/library/b/manifests/1", 10*time.Second)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s on b: got %v %v", tc.fault, resp, err)
		}
	}

	r.ClearRules()
	r.AddRule(Rule{Repo: "library/a", Fault: Close})
	if _, _, err := get(t, r, "/v2/library/a/manifests/1", 10*time.Second); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Errorf("close: got %v", err)
	}
	r.ClearRules()
	r.AddRule(Rule{Repo: "library/a", Fault: Reset})
	if _, _, err := get(t, r, "/v2/library/a/manifests/1", 10*time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("reset: got %v", err)
	}
	r.ClearRules()
	r.AddRule(Rule{Repo: "library/a", Fault: Hang})
	if _, _, err := get(t, r, "/v2/library/a/manifests/1", 300*time.Millisecond); err == nil || !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("hang: got %v", err)
	}

	addr, err := ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/v2/"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed addr: got %v", err)
	}
}

func TestTimesAndLog(t *testing.T) {
	r, _, _ := start(t)
	r.AddRule(Rule{Fault: Unavailable, Times: 1})
	for i, want := range []int{503, 200} {
		resp, _, err := get(t, r, "/v2/library/a/manifests/1", 10*time.Second)
		if err != nil || resp.StatusCode != want {
			t.Errorf("request %d: got %v %v, want %d", i, resp, err, want)
		}
	}
	log := r.Log()
	if len(log) != 2 || log[0].Fault != Unavailable || log[0].Status != 503 || log[1].Fault != None || log[1].Status != 200 || log[1].Repo != "library/a" || log[1].Kind != Manifests {
		t.Errorf("log: %+v", log)
	}
	if !r.Served("library/a", Manifests) || r.Served("library/b", Manifests) || r.Requested("library/b") {
		t.Errorf("Served/Requested wrong: %+v", log)
	}
}

func TestWrongDigestAndSlowBody(t *testing.T) {
	r, da, db := start(t)
	r.AddRule(Rule{Repo: "library/a", Fault: WrongDigest, Other: "library/b:1"})
	ref, _ := name.ParseReference(r.Addr+"/library/a:1", name.Insecure)
	desc, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest != db || desc.Digest == da {
		t.Errorf("wrong-digest served %s, want b's %s", desc.Digest, db)
	}

	r.ClearRules()
	r.AddRule(Rule{Kind: Blobs, Fault: SlowBody, Delay: time.Hour})
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("manifest should be served at once: %v", err)
	}
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	resp, err := (&http.Client{Timeout: 300 * time.Millisecond}).Get("http://" + r.Addr + "/v2/library/a/blobs/" + ld.String())
	if err != nil {
		t.Fatalf("headers should arrive: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("slow body was read in full")
	}
}

func TestLatency(t *testing.T) {
	r, _, _ := start(t)
	r.AddRule(Rule{Fault: Latency, Delay: time.Hour})
	if _, _, err := get(t, r, "/v2/library/a/manifests/1", 200*time.Millisecond); err == nil {
		t.Errorf("latency rule answered at once")
	}
	r.ClearRules()
	r.AddRule(Rule{Fault: Latency, Delay: time.Millisecond})
	if resp, _, err := get(t, r, "/v2/library/a/manifests/1", 10*time.Second); err != nil || resp.StatusCode != 200 {
		t.Errorf("short latency: %v %v", resp, err)
	}
}

func TestRange(t *testing.T) {
	r, _, _ := start(t)
	ref, _ := name.ParseReference(r.Addr+"/library/a:1", name.Insecure)
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	full, _, err := get(t, r, "/v2/library/a/blobs/"+ld.String(), 10*time.Second)
	if err != nil || full.StatusCode != 200 {
		t.Fatalf("%v %v", full, err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+r.Addr+"/v2/library/a/blobs/"+ld.String(), nil)
	req.Header.Set("Range", "bytes=10-")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusPartialContent || int64(len(body)) != full.ContentLength-10 {
		t.Errorf("range: status %d, %d bytes of %d", resp.StatusCode, len(body), full.ContentLength)
	}
	if !r.Served("library/a", Blobs) {
		t.Errorf("Served: %+v", r.Log())
	}
}

func TestTruncateOneBlob(t *testing.T) {
	r, _, _ := start(t)
	ref, err := name.ParseReference(r.Addr+"/library/b:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	ld, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	r.AddRule(Rule{Repo: "library/b", Kind: Blobs, Ref: ld.String(), Fault: Truncate})
	resp, body, err := get(t, r, "/v2/library/b/blobs/"+ld.String(), 10*time.Second)
	if !errors.Is(err, io.ErrUnexpectedEOF) || resp == nil || int64(len(body)) >= resp.ContentLength {
		t.Errorf("truncated blob: %v, %d bytes, error %v", resp, len(body), err)
	}
	// Another blob of the same repository (the config) is served whole.
	cd, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if resp, _, err := get(t, r, "/v2/library/b/blobs/"+cd.String(), 10*time.Second); err != nil || resp.StatusCode != 200 {
		t.Errorf("config blob: %v %v", resp, err)
	}
}

func TestBasicAuth(t *testing.T) {
	r, _, _ := start(t)
	r.RequireBasicAuth("user", "secret")
	resp, _, err := get(t, r, "/v2/", 10*time.Second)
	if err != nil || resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="faultreg"` {
		t.Fatalf("without credentials: %v %v", resp, err)
	}
	for pass, want := range map[string]int{"secret": 200, "wrong": 401} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.Addr+"/v2/library/a/manifests/1", nil)
		req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
		req.SetBasicAuth("user", pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("password %s: status %d, want %d", pass, resp.StatusCode, want)
		}
	}
}
