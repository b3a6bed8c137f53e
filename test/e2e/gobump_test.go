package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
	"golang.org/x/mod/modfile"
)

// TestGoDependencyBumpDownloads shows that after a dependency bump the
// build step, with the module cache in hoist's cache mount, fetches only
// module versions it did not have, while the stock frontend on the naive
// Dockerfile fetches again every module its go build needs (the COPY . .
// before it changed, and it has no cache mount). What each build fetched
// comes from a logging Go proxy the builds go through.
//
// hoist inserts no download step here (the build step mounts the module
// cache), so the builds fetch what go build needs: go-app's go.sum also
// lists modules only the dependencies' tests need, which no build fetches.
func TestGoDependencyBumpDownloads(t *testing.T) {
	e := needEnv(t)
	proxy := startGoProxyLog(t)
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "examples", "go-app")+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy example: %v\n%s", err, out)
	}
	// The example is altered only to send the build's module fetches
	// through the logging proxy; go.sum is complete, so checksums still come
	// from it and no checksum database is needed. Inserted right after the
	// build stage's FROM.
	df := filepath.Join(dir, "Dockerfile")
	dt, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	const buildFROM = "FROM golang:1.26 AS build\n"
	if !bytes.Contains(dt, []byte(buildFROM)) {
		t.Fatalf("go-app's Dockerfile has no %q line", strings.TrimSpace(buildFROM))
	}
	dt = bytes.Replace(dt, []byte(buildFROM), []byte(buildFROM+"ENV GOPROXY="+proxy.URL+"\n"), 1)
	if err := os.WriteFile(df, dt, 0o644); err != nil {
		t.Fatal(err)
	}

	// An empty builder: the module cache mount must hold only what this
	// test's builds put there.
	wipeBuilder(t, e, "golang:1.26", "busybox")
	proxy.take()

	hoist := []string{"--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage, "--output", "type=cacheonly"}
	out := bx(t, e, dir, hoist...)
	if !strings.Contains(out, "cache mounts /go/pkg/mod") || strings.Contains(out, "go mod download") {
		t.Fatalf("hoist did not mount the module cache, or inserted a download step:\n%s", tail(out))
	}
	cold := zips(t, proxy.take())
	oldReq := goRequires(t, dir)
	if len(cold) == 0 || len(minus(cold, oldReq)) > 0 {
		t.Fatalf("the cold build fetched %v through %s; want some of the modules go.mod requires %v:\n%s", cold, proxy.URL, oldReq, tail(out))
	}

	const dep = "github.com/prometheus/client_golang"
	oldVer, newVer := goBumpPrevious(t, dir, dep)
	t.Logf("dependency bump: %s %s -> %s (go get + go mod tidy on the host)", dep, oldVer, newVer)
	changed := minus(goRequires(t, dir), oldReq)
	if len(changed) == 0 {
		t.Fatalf("go.mod requires nothing new after the bump")
	}

	proxy.take()
	bx(t, e, dir, hoist...)
	bumped := zips(t, proxy.take())

	proxy.take()
	bx(t, e, dir, "--output", "type=cacheonly")
	stockZips := zips(t, proxy.take())

	t.Logf("module zips fetched: hoist cold %d (go.mod requires %d); after the bump hoist %d, stock %d",
		len(cold), len(oldReq), len(bumped), len(stockZips))
	t.Logf("hoist after the bump fetched %v; new in go.mod %v", bumped, changed)
	t.Logf("required but not fetched by stock's go build (no package of them built): %v", minus(goRequires(t, dir), stockZips))

	if len(intersect(bumped, changed)) == 0 {
		t.Errorf("hoist's rebuild fetched %v, none of the requirements new in go.mod %v; the bump did not reach the build", bumped, changed)
	}
	if again := intersect(bumped, cold); len(again) > 0 {
		t.Errorf("hoist's rebuild fetched again what the cold build had fetched: %v", again)
	}
	if len(stockZips) <= len(bumped) {
		t.Errorf("stock fetched %d zips after the bump, hoist %d; stock should fetch more (no cache mount)", len(stockZips), len(bumped))
	}
}

// goBumpPrevious moves the module's requirement in dir to its previous
// release (go get + go mod tidy on the host) and returns both versions.
func goBumpPrevious(t *testing.T, dir, mod string) (from, to string) {
	t.Helper()
	from = strings.TrimSpace(hostGo(t, dir, "list", "-m", "-f", "{{.Version}}", mod))
	vs := strings.Fields(hostGo(t, dir, "list", "-m", "-versions", mod))
	to = testbed.PreviousRelease(vs[1:], from)
	if to == "" {
		t.Fatalf("%s: no release before %s in %v", mod, from, vs[1:])
	}
	hostGo(t, dir, "get", mod+"@"+to)
	hostGo(t, dir, "mod", "tidy")
	return from, to
}

func hostGo(t *testing.T, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := testbed.HostCmd(ctx, dir, "go", args...)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// goRequires lists the module@version pairs dir's go.mod requires, sorted:
// what `go mod download` fetches for a module at go 1.17 or later.
func goRequires(t *testing.T, dir string) []string {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.ParseLax("go.mod", dt, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range f.Require {
		out = append(out, r.Mod.Path+"@"+r.Mod.Version)
	}
	sort.Strings(out)
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
