package llbgen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// cacheFromOption reads a golden case's cache-from, cache-digest and
// cache-ids options into Options.CacheFrom, as the frontend passes a
// checked cache image.
func cacheFromOption(opts map[string]string) *CacheImage {
	if opts["cache-from"] == "" {
		return nil
	}
	ref := opts["cache-from"]
	if d := opts["cache-digest"]; d != "" {
		ref += "@" + d
	}
	return &CacheImage{Ref: ref, IDs: CacheIDs(opts["cache-ids"])}
}

// testTool is hoist's image in the golden cases, as the frontend passes
// its own image pinned by digest; a case's tool option overrides it ("-"
// for none).
const testTool = "registry.example.com/tools/hoist:1@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// isTestTool reports whether a source identifier is testTool; the test
// resolver answers with a digest of its own.
func isTestTool(id string) bool {
	name, _, _ := strings.Cut(testTool, "@")
	return strings.HasPrefix(id, "docker-image://"+name+"@sha256:")
}

func toolOption(opts map[string]string) string {
	switch opts["tool"] {
	case "":
		return testTool
	case "-":
		return ""
	}
	return opts["tool"]
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
// unseeded. The Go build cache's input is the cache image with the stamp
// (TestLLBCacheFromStamp).
func TestLLBCacheFrom(t *testing.T) {
	es := execOps(t, convertCaseDir(t, "cache-from", ""))
	build := findExec(t, es, "go build")
	checkSeeded(t, build, "/go/pkg/mod", "hoist-go-mod")
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
		if strings.HasPrefix(e.args, ToolBinary+" cache-export ") {
			copies = append(copies, e)
		}
		if strings.Contains(e.args, "go build") || strings.Contains(e.args, "go test") || strings.Contains(e.args, "go vet") {
			t.Errorf("target hoist-cache runs the build: %q", e.args)
		}
	}
	if len(copies) != 4 {
		t.Fatalf("%d copy steps, want one per cache id (4)", len(copies))
	}
	for _, id := range []string{"hoist-go-mod", "hoist-go-mod-1000"} {
		checkSeeded(t, copyOf(t, copies, id), cacheSrc, id)
	}
	b := copyOf(t, copies, "hoist-go-build-1000")
	m := cacheMountAt(b, cacheSrc)
	if m == nil || m.CacheOpt.ID != "/hoist-go-build-1000" || m.Selector != "/cache" {
		t.Errorf("unseeded hoist-go-build-1000 copy mount: %v (want the uid 1000 cache, /cache of its mkdir)", m)
	}
	if !strings.Contains(b.args, " -keep 24h0m0s ") {
		t.Errorf("Go build cache not trimmed: %q", b.args)
	}
	if strings.Contains(copyOf(t, copies, "hoist-go-mod").args, "-keep") {
		t.Errorf("module cache trimmed")
	}
	for _, e := range copies {
		if !isTestTool(e.sources[0]) {
			t.Errorf("%q runs in %q, want hoist's image", e.args, e.sources[0])
		}
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

// defOps decodes a definition's ops by digest.
func defOps(t *testing.T, o *convertOutput) map[digest.Digest]*pb.Op {
	t.Helper()
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	ops := map[digest.Digest]*pb.Op{}
	for _, dt := range o.Def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		ops[digest.FromBytes(dt)] = &op
	}
	return ops
}

// TestLLBCacheFromStamp follows the input of a seeded Go build cache
// mount: a copy of the stamp onto the cache image, the stamp written by
// hoist's binary in hoist's image on the build platform (the target here
// is arm64), keyed by the cache image's digest. Module caches stay seeded
// from the image itself.
func TestLLBCacheFromStamp(t *testing.T) {
	dir := filepath.Join("testdata", "rewrite", "cache-from")
	dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	arm := ocispecs.Platform{OS: "linux", Architecture: "arm64"}
	o := convertRewritten(context.Background(), dt, rewriteCase(t, dir, dt), convertCase{TargetPlatform: &arm})
	ops := defOps(t, o)
	n := 0
	for _, op := range ops {
		ex := op.GetExec()
		if ex == nil || !strings.Contains(strings.Join(ex.Meta.Args, " "), "go ") {
			continue
		}
		m := cacheMountAt(execOp{mounts: ex.Mounts}, "/root/.cache/go-build")
		if m == nil {
			continue
		}
		n++
		if m.Selector != "/hoist-go-build" || m.CacheOpt.ID != "/hoist-go-build" {
			t.Errorf("%q: go build cache mount %v", ex.Meta.Args, m)
		}
		seed := ops[digest.Digest(op.Inputs[m.Input].Digest)]
		f := seed.GetFile()
		if f == nil || len(f.Actions) != 1 || f.Actions[0].GetCopy() == nil {
			t.Fatalf("%q: the build cache is seeded from %v, want a copy of the stamp", ex.Meta.Args, seed)
		}
		cp := f.Actions[0].GetCopy()
		if cp.Src != stampFile || cp.Dest != "/hoist-go-build/trim.txt" {
			t.Errorf("stamp copied from %s to %s", cp.Src, cp.Dest)
		}
		base := ops[digest.Digest(seed.Inputs[f.Actions[0].Input].Digest)]
		if id := base.GetSource().GetIdentifier(); !strings.HasPrefix(id, testCacheImage+"@") {
			t.Errorf("the stamp is copied onto %q, want the cache image", id)
		}
		stamp := ops[digest.Digest(seed.Inputs[f.Actions[0].SecondaryInput].Digest)]
		sx := stamp.GetExec()
		want := []string{ToolBinary, "cache-stamp", "-from", "registry.example.com/app/hoist-cache:latest@sha256:2222222222222222222222222222222222222222222222222222222222222222", stampFile}
		if sx == nil || strings.Join(sx.Meta.Args, " ") != strings.Join(want, " ") {
			t.Fatalf("the stamp comes from %v, want a run of %q", stamp, want)
		}
		if stamp.Platform == nil || stamp.Platform.Architecture != "amd64" {
			t.Errorf("the stamp runs on %v, want the build platform", stamp.Platform)
		}
		root := ops[digest.Digest(stamp.Inputs[sx.Mounts[0].Input].Digest)]
		if id := root.GetSource().GetIdentifier(); !isTestTool(id) {
			t.Errorf("the stamp runs in %q, want hoist's image", id)
		}
		if mod := cacheMountAt(execOp{mounts: ex.Mounts}, "/go/pkg/mod"); mod == nil ||
			ops[digest.Digest(op.Inputs[mod.Input].Digest)].GetSource().GetIdentifier() == "" {
			t.Errorf("%q: the module cache is not seeded from the image itself", ex.Meta.Args)
		}
	}
	if n != 2 {
		t.Errorf("%d go commands with a build cache mount, want 2 (go test, go build)", n)
	}
}

// TestLLBCacheFromStampOwner checks that the stamp of a cache mounted
// with uid/gid is the cache user's, and one for a user known only by name
// is writable by it: go rewrites trim.txt after its daily trim.
func TestLLBCacheFromStampOwner(t *testing.T) {
	ops := defOps(t, convertCaseDir(t, "cache-from-stamp", ""))
	got := map[string]string{}
	for _, op := range ops {
		f := op.GetFile()
		if f == nil {
			continue
		}
		for _, a := range f.Actions {
			cp := a.GetCopy()
			if cp == nil || cp.Src != stampFile {
				continue
			}
			owner := "-"
			if u := cp.Owner.GetUser(); u != nil {
				owner = strconv.Itoa(int(u.GetByID()))
			}
			// A user the build creates has the calls that made it hashed
			// into its id.
			dest := cp.Dest
			if strings.HasPrefix(dest, "/hoist-go-build-builder-") {
				dest = "/hoist-go-build-builder/" + dest[strings.LastIndex(dest, "/")+1:]
			}
			got[dest] = fmt.Sprintf("owner=%s mode=%o", owner, cp.Mode)
		}
	}
	want := map[string]string{
		"/hoist-go-build/trim.txt":         "owner=- mode=" + fmt.Sprintf("%o", -1),
		"/hoist-go-build-1000/trim.txt":    "owner=1000 mode=" + fmt.Sprintf("%o", -1),
		"/hoist-go-build-builder/trim.txt": "owner=- mode=666",
	}
	for d, w := range want {
		if got[d] != w {
			t.Errorf("stamp %s: %s, want %s", d, got[d], w)
		}
	}
}

// copyOf finds the copy step of cache id.
func copyOf(t *testing.T, copies []execOp, id string) execOp {
	t.Helper()
	for _, e := range copies {
		if strings.HasSuffix(e.args, " /hoist-cache/"+id) {
			return e
		}
	}
	t.Fatalf("no copy step for %s", id)
	return execOp{}
}
