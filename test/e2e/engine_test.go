package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hoistbuild/hoist/test/testbed"
)

// The cache-safety engine on the test bed: each case is built through
// stock and through hoist, and the exports compared file by file.

// exportCopy builds dir (a copy of a testdata case) through stock, or
// through hoist when hoist is set, into dest; it returns the progress.
func exportCopy(t *testing.T, e *testbed.Env, dir string, hoist bool, dest string, args ...string) string {
	t.Helper()
	if hoist {
		args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage)
	}
	file := filepath.Join(t.TempDir(), "export.tar")
	out := bx(t, e, dir, append(args, "--output", "type=tar,dest="+file)...)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testbed.Untar(f, dest); err != nil {
		t.Fatalf("unpack the export of %s: %v", dir, err)
	}
	return out
}

// caseCopy copies testdata/<name> into a fresh directory.
func caseCopy(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("testdata", name)+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", name, err, out)
	}
	return dir
}

// TestGoOpaqueBuildStep: the user splits the download and builds through a
// step hoist cannot see into (a make that runs go build, with no network,
// as a build step without the download's credentials; a build.sh from the
// context). Stock keeps the modules in the layer; hoist gives the script
// step the module cache mount too, and keeps the modules in the layer for
// the step with no network (a mount may be emptied while the download's
// layer stays cached); both get the build cache: same image, and a rebuild
// after a source edit fetches no module (the logging Go proxy).
func TestGoOpaqueBuildStep(t *testing.T) {
	e := needEnv(t)
	proxy := startGoProxyLog(t)
	for _, c := range []struct{ name, step string }{
		{"go-opaque-split", "make build"},
		{"go-script-split", "./build.sh"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := caseCopy(t, c.name)
			netrc := filepath.Join(t.TempDir(), "netrc")
			if err := os.WriteFile(netrc, []byte("machine example.invalid login x password y\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"--build-arg", "GOPROXY=" + proxy.URL, "--secret", "id=netrc,src=" + netrc}
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			exportCopy(t, e, dir, false, stockDir, args...)
			out := exportCopy(t, e, dir, true, hoistDir, args...)
			if !strings.Contains(out, "[hoist/opaque-step]") {
				t.Errorf("hoist did not report the opaque step:\n%s", tail(out))
			}
			if d := diffSnapshots(withoutCaches(snapshot(t, stockDir)), withoutCaches(snapshot(t, hoistDir))); d != "" {
				t.Errorf("exported filesystems differ:\n%s", d)
			}

			p := filepath.Join(dir, "main.go")
			appendEdit(t, p)
			proxy.take()
			out = bx(t, e, dir, append(args, "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage, "--output", "type=cacheonly")...)
			if stepCached(out, c.step) {
				t.Fatalf("%s was cached after a source edit; the edit did not reach it:\n%s", c.step, tail(out))
			}
			if got := zips(t, proxy.take()); len(got) > 0 {
				t.Errorf("the rebuild after a source edit fetched %v; %s should find them in the module cache mount:\n%s", got, c.step, tail(out))
			}
		})
	}
}

// TestCacheDestroyers: a RUN that removes the cache it uses (Go's build
// cache, npm's cache) builds through hoist as through stock: a cache mount
// there would make rm fail with "Device or resource busy".
func TestCacheDestroyers(t *testing.T) {
	e := needEnv(t)
	proxy := startGoProxyLog(t)
	for _, c := range []struct{ name, note string }{
		{"go-destroyer", "line 5 removes /root/.cache/go-build"},
		{"npm-destroyer", "line 4 removes /root/.npm"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := caseCopy(t, c.name)
			args := []string{"--build-arg", "GOPROXY=" + proxy.URL}
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			exportCopy(t, e, dir, false, stockDir, args...)
			out := exportCopy(t, e, dir, true, hoistDir, args...)
			if !strings.Contains(out, c.note) || !strings.Contains(out, "[hoist/cache-destroyer]") {
				t.Errorf("hoist did not report %q:\n%s", c.note, tail(out))
			}
			s := snapshot(t, stockDir)
			if len(s) == 0 {
				t.Fatal("stock exported nothing; the test proves nothing")
			}
			if d := diffSnapshots(withoutNodeCaches(withoutCaches(s)), withoutNodeCaches(withoutCaches(snapshot(t, hoistDir)))); d != "" {
				t.Errorf("exported filesystems differ:\n%s", d)
			}
		})
	}
}

// TestNonRootMountParents: a non-root RUN whose cache mounts sit in
// directories that do not exist yet (GOPATH and ~/.cache under a new
// user's home) writes beside them (go install into $GOPATH/bin, a tool
// into ~/.cache). runc would create those directories owned by root for
// the step; hoist creates them as the user first, so the build passes and
// exports what stock exports.
// go-nonroot-workdir-home sets USER before the WORKDIR that creates the
// user's home: the directories can only be made after that WORKDIR.
func TestNonRootMountParents(t *testing.T) {
	e := needEnv(t)
	proxy := startGoProxyLog(t)
	for _, name := range []string{"go-nonroot-install", "go-nonroot-workdir-home"} {
		t.Run(name, func(t *testing.T) {
			dir := caseCopy(t, name)
			args := []string{"--build-arg", "GOPROXY=" + proxy.URL}
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			exportCopy(t, e, dir, false, stockDir, args...)
			out := exportCopy(t, e, dir, true, hoistDir, args...)
			if !strings.Contains(out, "run first as the step's user") {
				t.Errorf("hoist did not report creating the mounts' parents:\n%s", tail(out))
			}
			s := snapshot(t, stockDir)
			if _, ok := s["lint/stamp"]; !ok {
				t.Fatal("stock exported no lint/stamp; the test proves nothing")
			}
			if d := diffSnapshots(withoutCaches(s), withoutCaches(snapshot(t, hoistDir))); d != "" {
				t.Errorf("exported filesystems differ:\n%s", d)
			}
		})
	}
}

// TestModuleCacheWriter: a RUN that patches a file inside the module cache
// builds through hoist as through stock, and the builder's shared module
// cache keeps the original file: a later build of another Dockerfile that
// mounts hoist's module cache reads it unpatched.
func TestModuleCacheWriter(t *testing.T) {
	e := needEnv(t)
	proxy := startGoProxyLog(t)
	wipeBuilder(t, e, "golang:1.26", "busybox")
	args := []string{"--build-arg", "GOPROXY=" + proxy.URL}
	dir := caseCopy(t, "go-modcache-writer")
	stockDir, hoistDir := t.TempDir(), t.TempDir()
	exportCopy(t, e, dir, false, stockDir, args...)
	out := exportCopy(t, e, dir, true, hoistDir, args...)
	if !strings.Contains(out, "[hoist/cache-writer]") {
		t.Errorf("hoist did not report the writer:\n%s", tail(out))
	}
	if d := diffSnapshots(withoutCaches(snapshot(t, stockDir)), withoutCaches(snapshot(t, hoistDir))); d != "" {
		t.Errorf("exported filesystems differ:\n%s", d)
	}

	readerDir := t.TempDir()
	exportCopy(t, e, caseCopy(t, "go-modcache-reader"), false, readerDir, args...)
	dt, err := os.ReadFile(filepath.Join(readerDir, "uuid.go"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(dt), "patched by go-modcache-writer") {
		t.Errorf("the shared module cache holds the file the writer patched")
	}
	if !strings.Contains(string(dt), "package uuid") {
		t.Errorf("uuid.go from the shared module cache is not the module's file:\n%s", dt)
	}
}

// TestHoistedDownloadFailureLine: when the go mod download hoist inserted
// before the COPY fails, the error points at the user's RUN that needed it,
// with the same source excerpt as stock's failure of that RUN. The layer
// cache import is what makes hoist insert one here.
func TestHoistedDownloadFailureLine(t *testing.T) {
	needEnv(t)
	want := buildx(t, stock, "errors/download-fails")
	got := buildx(t, hoistArg, "errors/download-fails", layerCacheArgs(t)...)
	if want.err == nil || got.err == nil {
		t.Fatalf("want both builds to fail: stock %v, hoist %v", want.err, got.err)
	}
	if !strings.Contains(got.stderr, "go mod download hoisted before this COPY") {
		t.Fatalf("hoist did not hoist the download:\n%s", tail(got.stderr))
	}
	// The ERROR line names the failed command, which differs; the location
	// and the excerpt before it must not.
	where := func(stderr string) string {
		r := errorReport(stderr)
		if i := strings.Index(r, "\nERROR:"); i >= 0 {
			r = r[:i]
		}
		return r
	}
	w, g := where(want.stderr), where(got.stderr)
	if !strings.HasPrefix(w, "Dockerfile:4") {
		t.Fatalf("stock reports the failure at %q, not at the RUN; the test proves nothing:\n%s", w, tail(want.stderr))
	}
	if w != g {
		t.Errorf("failure locations differ\nstock:\n%s\n\nhoist:\n%s", w, g)
	}
}
