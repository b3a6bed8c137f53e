package e2e

import (
	"context"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// pureCaches are paths of an exported filesystem that hold only caches:
// hoist mounts them, so their content is not in hoist's image. Go's
// telemetry counters differ between any two builds.
var pureCaches = []string{
	"root/.cache/go-build",
	"home/*/.cache/go-build",
	"root/.config/go/telemetry",
	"home/*/.config/go/telemetry",
}

func isPureCache(p string) bool {
	for _, c := range pureCaches {
		parts := strings.Split(c, "/")
		got := strings.Split(p, "/")
		if len(got) < len(parts) {
			continue
		}
		ok := true
		for i, part := range parts {
			if m, _ := filepath.Match(part, got[i]); !m {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func withoutCaches(s map[string]fileEntry) map[string]fileEntry {
	out := map[string]fileEntry{}
	for k, v := range s {
		if !isPureCache(k) {
			out[k] = v
		}
	}
	return out
}

// goExamples are the repo's Go examples and a note hoist must report for
// each, proving the rewrite happened (or was refused, for vendor/).
var goExamples = []struct {
	name string
	note string
}{
	{"go-app", "cache mounts /go/pkg/mod, /root/.cache/go-build added"},
	{"go-workspace", "cache mounts /go/pkg/mod"},
	{"go-vendored", "cache mounts /root/.cache/go-build added"},
	{"go-nonroot", "/home/builder/go/pkg/mod"},
	{"go-cross", "cache mounts /go/pkg/mod"},
	{"go-test-stage", "cache mounts /go/pkg/mod"},
	{"go-make", "cache mounts /go/pkg/mod"},
	{"fullstack", "cache mounts /go/pkg/mod"},
}

// TestGoExamples builds every Go example through the stock frontend and
// through hoist and compares the exported filesystems file by file.
func TestGoExamples(t *testing.T) {
	needEnv(t)
	for _, ex := range goExamples {
		t.Run(ex.name, func(t *testing.T) {
			name := filepath.Join("..", "..", "..", "examples", ex.name)
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			mustExport(t, stock, name, stockDir)
			res := mustExport(t, hoistArg, name, hoistDir)
			if !strings.Contains(res.stderr, "hoist: line") || !strings.Contains(res.stderr, ex.note) {
				t.Errorf("hoist did not report %q:\n%s", ex.note, tail(res.stderr))
			}
			if d := diffSnapshots(withoutCaches(snapshot(t, stockDir)), withoutCaches(snapshot(t, hoistDir))); d != "" {
				t.Errorf("exported filesystems differ:\n%s", d)
			}
		})
	}
}

// TestGoModuleCacheCopied builds a Dockerfile whose final stage copies the
// module cache out of the build stage: hoist must keep that cache in the
// build stage's layer (no module cache mount, no hoisted download) and
// export exactly what stock exports.
func TestGoModuleCacheCopied(t *testing.T) {
	sameGoExport(t, "go-modcache-copied",
		"Go module cache /go/pkg/mod kept in the stage's layers: stage build is copied from at /go/pkg/mod",
		"mod/github.com/google/uuid@v1.6.0/uuid.go")
}

// TestGoSplitManifests builds a Dockerfile that copies go.mod and go.sum
// on their own, then the sources by directory and a VERSION file, with a
// layer cache import (which keeps the module cache in the layers): hoist
// adds the download right after the module files and must export what
// stock exports.
func TestGoSplitManifests(t *testing.T) {
	sameGoExport(t, "go-split-manifests", "line 3: go mod download added after this COPY of the module files", "src/go.sum", layerCacheArgs(t)...)
}

// TestGoDownloadAfterCopy: with a layer cache import, a user's go mod
// download after COPY . . is hoisted like a go build.
func TestGoDownloadAfterCopy(t *testing.T) {
	sameGoExport(t, "go-download-after-copy", "line 3: go mod download hoisted before this COPY", "src/go.sum", layerCacheArgs(t)...)
}

// layerCacheArgs import a layer cache that does not exist: BuildKit goes
// on without it, and hoist, seeing the import, keeps the Go module cache
// in the layers and hoists the download into them (its only download
// hoisting without a cache image).
func layerCacheArgs(t *testing.T) []string {
	e := needEnv(t)
	return []string{"--cache-from", "type=registry,ref=" + e.Registry + "/no-layer-cache:none"}
}

// TestGoExportedDownloadInLayer: a single-stage image that adds its
// sources and builds keeps its module cache in the image, so hoist hoists
// the download into the layer with no module cache mount. The images are
// equal outside /go/pkg/mod; every file of stock's module cache is in
// hoist's, which also holds the test-only module go mod download fetched;
// a rebuild after a source edit fetches no module.
func TestGoExportedDownloadInLayer(t *testing.T) {
	e := needEnv(t)
	proxy := startGoProxyLog(t)
	dir := caseCopy(t, "go-exported-source-first")
	args := []string{"--build-arg", "GOPROXY=" + proxy.URL}
	stockDir, hoistDir := t.TempDir(), t.TempDir()
	exportCopy(t, e, dir, false, stockDir, args...)
	out := exportCopy(t, e, dir, true, hoistDir, args...)
	if !strings.Contains(out, "line 4: go mod download hoisted before this COPY") || !strings.Contains(out, "[hoist/download-in-layer]") {
		t.Errorf("hoist did not report the download in the layer:\n%s", tail(out))
	}
	split := func(s map[string]fileEntry) (mod, rest map[string]fileEntry) {
		mod, rest = map[string]fileEntry{}, map[string]fileEntry{}
		for k, v := range s {
			if k == "go/pkg/mod" || strings.HasPrefix(k, "go/pkg/mod/") {
				mod[k] = v
			} else {
				rest[k] = v
			}
		}
		return mod, rest
	}
	sMod, sRest := split(withoutCaches(snapshot(t, stockDir)))
	hMod, hRest := split(withoutCaches(snapshot(t, hoistDir)))
	if _, ok := sMod["go/pkg/mod/github.com/google/uuid@v1.6.0/uuid.go"]; !ok {
		t.Fatal("stock's image has no uuid module in /go/pkg/mod; the test proves nothing")
	}
	// Stock's go build leaves /root/.cache holding only go-build, a pure
	// cache; through hoist the build cache is a mount and the directory is
	// not created. An emptied parent of a pure cache is cache too.
	for _, m := range []map[string]fileEntry{sRest, hRest} {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(m)), func(k string) bool { return strings.HasPrefix(k, "root/.cache/") }) {
			delete(m, "root/.cache")
		}
	}
	if d := diffSnapshots(sRest, hRest); d != "" {
		t.Errorf("exported filesystems differ outside /go/pkg/mod:\n%s", d)
	}
	for p, f := range sMod {
		if h, ok := hMod[p]; !ok || h != f {
			t.Errorf("stock's %s (%v) is not in hoist's module cache as it is (%v, present %v)", p, f, h, ok)
		}
	}
	const testOnly = "go/pkg/mod/github.com/google/go-cmp@v0.7.0/cmp/compare.go"
	if _, ok := sMod[testOnly]; ok {
		t.Errorf("stock's build fetched the test-only module %s; the case does not show the superset", testOnly)
	}
	if _, ok := hMod[testOnly]; !ok {
		t.Errorf("hoist's image has no %s: go mod download did not run before the build", testOnly)
	}

	p := filepath.Join(dir, "main.go")
	appendEdit(t, p)
	proxy.take()
	out = bx(t, e, dir, append(args, "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage, "--output", "type=cacheonly")...)
	if !stepCached(out, "go mod download") {
		t.Errorf("the hoisted download was not cached after a source edit:\n%s", tail(out))
	}
	if got := zips(t, proxy.take()); len(got) > 0 {
		t.Errorf("the rebuild after a source edit fetched %v; the modules are in the download's layer:\n%s", got, tail(out))
	}
}

// sameGoExport builds testdata/<name> through stock and hoist: hoist must
// report note, stock's export must hold the path that makes the case (else
// the comparison proves nothing), and the exports must be equal outside
// the caches.
func sameGoExport(t *testing.T, name, note, path string, hoistArgs ...string) {
	t.Helper()
	needEnv(t)
	stockDir, hoistDir := t.TempDir(), t.TempDir()
	mustExport(t, stock, name, stockDir)
	res := mustExport(t, hoistArg, name, hoistDir, hoistArgs...)
	if !strings.Contains(res.stderr, note) {
		t.Errorf("hoist did not report %q:\n%s", note, tail(res.stderr))
	}
	s := snapshot(t, stockDir)
	if _, ok := s[path]; !ok {
		t.Fatalf("stock export has no %s; the test proves nothing", path)
	}
	if d := diffSnapshots(withoutCaches(s), withoutCaches(snapshot(t, hoistDir))); d != "" {
		t.Errorf("exported filesystems differ:\n%s", d)
	}
}

// TestGoSourceEdit rebuilds go-app through hoist after a one-line source
// edit. The build step mounts the module cache, so hoist inserts no
// download step (one would only delay a cold build): the rebuild must
// compile again and fetch no module, the modules being in the mount.
func TestGoSourceEdit(t *testing.T) {
	e := needEnv(t)
	dir := goFlagsX(t, "go-app")
	hoist := []string{"--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage, "--output", "type=cacheonly"}
	wipeBuilder(t, e, "golang:1.26", "busybox")
	cold := bx(t, e, dir, hoist...)
	if strings.Contains(cold, "go mod download") {
		t.Errorf("hoist inserted a download step where the build step mounts the module cache:\n%s", tail(cold))
	}
	if len(fetchRe.FindAllString(cold, -1)) == 0 {
		t.Fatalf("the cold build fetched no module; the log does not show what the test looks for:\n%s", tail(cold))
	}
	appendEdit(t, filepath.Join(dir, "main.go"))
	warm := bx(t, e, dir, hoist...)
	if len(compiled(warm)) == 0 {
		t.Fatalf("the rebuild compiled nothing; the edit did not reach the build:\n%s", tail(warm))
	}
	if f := fetchRe.FindAllString(warm, -1); len(f) > 0 {
		t.Errorf("the rebuild after a source edit fetched modules (%d requests, first %s); the module cache mount should hold them", len(f), f[0])
	}
}

// editRebuild builds a copy of an example through hoist, appends a comment
// line to one of its source files and returns the progress of the rebuild.
func editRebuild(t *testing.T, example, file string) string {
	t.Helper()
	e := needEnv(t)
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "examples", example)+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy example: %v\n%s", err, out)
	}
	build := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		_, stderr, err := e.Buildx(ctx, dir, "build", "--progress=plain", "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage, "--output", "type=local,dest="+t.TempDir(), ".")
		if err != nil {
			t.Fatalf("build: %v\n%s", err, tail(string(stderr)))
		}
		return string(stderr)
	}
	build()
	p := filepath.Join(dir, file)
	appendEdit(t, p)
	return build()
}

// stepCached reports whether the plain progress shows the step whose name
// contains substr as CACHED.
func stepCached(progress, substr string) bool {
	ids := map[string]bool{}
	for _, l := range strings.Split(progress, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasPrefix(f[0], "#") {
			continue
		}
		if strings.Contains(l, substr) && strings.Contains(l, "[") {
			ids[f[0]] = true
		}
		if ids[f[0]] && f[1] == "CACHED" {
			return true
		}
	}
	return false
}

// TestGoTestFresh runs a test whose input go's test cache does not hash
// twice through hoist's shared build cache: the second build must fail as
// stock's does, not pass on the first build's cached result.
func TestGoTestFresh(t *testing.T) {
	needEnv(t)
	if res := buildx(t, stock, "go-test-fresh", "--build-arg", "FLAVOR=b"); res.err == nil {
		t.Fatalf("stock passed with FLAVOR=b; the test proves nothing:\n%s", tail(res.stderr))
	}
	res := mustBuild(t, hoistArg, "go-test-fresh", "--build-arg", "FLAVOR=a")
	if !strings.Contains(res.stderr, "/root/.cache/go-build") {
		t.Fatalf("hoist did not mount the build cache; the test proves nothing:\n%s", tail(res.stderr))
	}
	res = buildx(t, hoistArg, "go-test-fresh", "--build-arg", "FLAVOR=b")
	if res.err == nil {
		t.Errorf("hoist's FLAVOR=b build passed where stock's fails: go test reported a cached result\n%s", tail(res.stderr))
	} else if !strings.Contains(res.stderr, `flavor "b", want a`) {
		t.Errorf("hoist's FLAVOR=b build failed, but not in the test:\n%s", tail(res.stderr))
	}
}
