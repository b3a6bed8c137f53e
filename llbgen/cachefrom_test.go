package llbgen

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

// cacheFromOption reads a golden case's cache-from and cache-ids options
// into Options.CacheFrom, as the frontend passes a checked cache image.
func cacheFromOption(opts map[string]string) *CacheImage {
	if opts["cache-from"] == "" {
		return nil
	}
	return &CacheImage{Ref: opts["cache-from"], IDs: CacheIDs(opts["cache-ids"])}
}

func TestCacheFlagRoundTrip(t *testing.T) {
	uid, gid := 1000, 1001
	for _, m := range []cacheMount{
		{id: "hoist-go-mod", target: "/go/pkg/mod", sharing: "shared"},
		{id: "hoist-go-build-1000", target: "/tmp/home/.cache/go-build", sharing: "shared", uid: &uid, gid: &gid},
		{id: "hoist-npm-builder", target: "/home/builder/.npm", sharing: "locked", mode: "0777"},
		{id: "hoist-go-mod", target: "/go/pkg/mod", sharing: "shared", from: "registry.example.com/c:latest", source: "/hoist-go-mod"},
	} {
		got, ok := parseCacheFlag(m.flag())
		if !ok {
			t.Fatalf("%s did not parse", m.flag())
		}
		if got.flag() != m.flag() {
			t.Errorf("round trip: %s became %s", m.flag(), got.flag())
		}
	}
	for _, bad := range []string{
		"--mount=type=cache,id=user-cache,target=/x",           // not hoist's
		"--mount=type=bind,id=hoist-go-mod,target=/go/pkg/mod", // not a cache
		"--mount=type=cache,id=hoist-go-mod,target=/x,uid=abc",
		"--mount=type=cache,id=hoist-go-mod,target=/x,ro",
		"--mount=type=cache,id=hoist-go-mod",
	} {
		if _, ok := parseCacheFlag(bad); ok {
			t.Errorf("%s parsed as hoist's cache mount", bad)
		}
	}
}

func convertCaseDir(t *testing.T, name, target string) *convertOutput {
	t.Helper()
	dir := filepath.Join("testdata", "rewrite", name)
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	rw := rewriteCase(t, dir, dt)
	if target == "" {
		target = readKV(t, filepath.Join(dir, "options"))["target"]
	}
	return convertRewritten(context.Background(), dt, rw, convertCase{Target: target})
}

const testCacheImage = "docker-image://registry.example.com/app/hoist-cache:latest"

// checkSeeded checks that the cache mount at dest of e is the cache id
// seeded from the test cache image's directory /id.
func checkSeeded(t *testing.T, e execOp, dest, id string) {
	t.Helper()
	m := cacheMountAt(e, dest)
	if m == nil {
		t.Fatalf("%q: no cache mount at %s: %v", e.args, dest, e.mounts)
	}
	if m.CacheOpt.ID != "/"+id {
		t.Errorf("%q: cache id %q, want /%s", e.args, m.CacheOpt.ID, id)
	}
	if m.Input < 0 || int(m.Input) >= len(e.sources) || !strings.HasPrefix(e.sources[m.Input], testCacheImage+"@") {
		t.Errorf("%q: cache mount at %s has input %d (%v), want the cache image", e.args, dest, m.Input, e.sources)
	}
	if m.Selector != "/"+id {
		t.Errorf("%q: cache mount at %s has source %q, want /%s", e.args, dest, m.Selector, id)
	}
}

// TestLLBCacheFrom checks the LLB dockerfile2llb makes of seeded mounts:
// the cache mount's input is the cache image and its selector the id's
// directory, for the inserted download too; an id the image lacks stays
// unseeded.
func TestLLBCacheFrom(t *testing.T) {
	es := execOps(t, convertCaseDir(t, "cache-from", ""))
	build := findExec(t, es, "go build")
	checkSeeded(t, build, "/go/pkg/mod", "hoist-go-mod")
	checkSeeded(t, build, "/root/.cache/go-build", "hoist-go-build")
	checkSeeded(t, findExec(t, es, "go mod download"), "/go/pkg/mod", "hoist-go-mod")

	checkSeeded(t, findExec(t, es, "go test"), "/go/pkg/mod", "hoist-go-mod")
	test := findExec(t, execOps(t, convertCaseDir(t, "cache-from", "vet")), "go vet")
	checkSeeded(t, test, "/go/pkg/mod", "hoist-go-mod-1000")
	gb := cacheMountAt(test, "/tmp/home/.cache/go-build")
	if gb == nil {
		t.Fatalf("go vet has no build cache mount: %v", test.mounts)
	}
	if gb.Selector == "/hoist-go-build-1000" || (gb.Input >= 0 && int(gb.Input) < len(test.sources) && strings.HasPrefix(test.sources[gb.Input], testCacheImage)) {
		t.Errorf("hoist-go-build-1000 is not in the cache image but was seeded from it: %v", gb)
	}
}

// TestLLBCacheExport checks target hoist-cache: one copy step per cache
// id, mounting the very cache the build uses (same id, same seed), and a
// scratch result with the ids label.
func TestLLBCacheExport(t *testing.T) {
	o := convertCaseDir(t, "cache-export", "")
	es := execOps(t, o)
	var copies []execOp
	for _, e := range es {
		if strings.Contains(e.args, "cp -a "+cacheSrc) {
			copies = append(copies, e)
		}
		if strings.Contains(e.args, "go build") || strings.Contains(e.args, "go test") || strings.Contains(e.args, "go vet") {
			t.Errorf("target hoist-cache runs the build: %q", e.args)
		}
	}
	if len(copies) != 4 {
		t.Fatalf("%d copy steps, want one per cache id (4)", len(copies))
	}
	for _, id := range []string{"hoist-go-mod", "hoist-go-build", "hoist-go-mod-1000"} {
		checkSeeded(t, copyOf(t, copies, id), cacheSrc, id)
	}
	b := copyOf(t, copies, "hoist-go-build-1000")
	m := cacheMountAt(b, cacheSrc)
	if m == nil || m.CacheOpt.ID != "/hoist-go-build-1000" || m.Selector != "/cache" {
		t.Errorf("unseeded hoist-go-build-1000 copy mount: %v (want the uid 1000 cache, /cache of its mkdir)", m)
	}
	if !strings.Contains(b.args, "-mmin +1440 -delete") {
		t.Errorf("Go build cache not trimmed: %q", b.args)
	}
	if strings.Contains(copyOf(t, copies, "hoist-go-mod").args, "-delete") {
		t.Errorf("module cache trimmed")
	}
	if !strings.Contains(string(o.Image), CacheIDsLabel) || !strings.Contains(string(o.Image), "hoist-go-mod hoist-go-build hoist-go-mod-1000 hoist-go-build-1000") {
		t.Errorf("image config lacks the ids label: %s", o.Image)
	}
}

// TestCacheEpochInvalidates checks that the copy step's cache key depends
// on HOIST_CACHE_EPOCH (the frontend sets a new value every build) and on
// nothing else that changes between builds.
func TestCacheEpochInvalidates(t *testing.T) {
	dir := filepath.Join("testdata", "rewrite", "cache-export")
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	rw := rewriteCase(t, dir, dt)
	digests := func(epoch string) map[string]bool {
		o := convertRewritten(context.Background(), dt, rw, convertCase{Target: CacheTarget, BuildArgs: map[string]string{ArgCacheEpoch: epoch}})
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		out := map[string]bool{}
		for _, d := range o.Def.Def {
			out[digest.FromBytes(d).String()] = true
		}
		return out
	}
	a, b, a2 := digests("1"), digests("2"), digests("1")
	if len(a) != len(a2) {
		t.Fatalf("same epoch, different definitions")
	}
	for d := range a {
		if !a2[d] {
			t.Fatalf("same epoch, different op %s", d)
		}
	}
	same := 0
	for d := range a {
		if b[d] {
			same++
		}
	}
	if same == len(a) {
		t.Errorf("a new HOIST_CACHE_EPOCH changes no op: the copies would be cached stale")
	}
	if same == 0 {
		t.Errorf("a new HOIST_CACHE_EPOCH changes every op, base images included")
	}
}

// copyOf finds the copy step of cache id.
func copyOf(t *testing.T, copies []execOp, id string) execOp {
	t.Helper()
	for _, e := range copies {
		if strings.HasSuffix(e.args, "/hoist-cache/"+id) || strings.Contains(e.args, "/hoist-cache/"+id+" ") {
			return e
		}
	}
	t.Fatalf("no copy step for %s", id)
	return execOp{}
}
