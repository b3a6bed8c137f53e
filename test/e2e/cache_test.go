package e2e

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/test/testbed"
)

// goFlagsX copies an example into a temporary directory and makes its Go
// commands print what they do (ENV GOFLAGS=-x after the first FROM): module
// fetches ("# get https://...") and each package compile ("compile ... -p
// PKG"), so the build log shows what came from the caches. Go builds the
// same files with and without -x.
func goFlagsX(t *testing.T, example string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "examples", example)+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy example: %v\n%s", err, out)
	}
	df := filepath.Join(dir, "Dockerfile")
	dt, err := os.ReadFile(df)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(dt), "\n")
	if !strings.HasPrefix(lines[0], "FROM golang") {
		t.Fatalf("%s: first line is not FROM golang: %q", example, lines[0])
	}
	// Inserted after the first FROM: line numbers below it shift by one,
	// which no assertion here depends on.
	out := lines[0] + "ENV GOFLAGS=-x\n" + strings.Join(lines[1:], "")
	if err := os.WriteFile(df, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bx runs docker buildx build in dir and fails the test on error.
func bx(t *testing.T, e *testbed.Env, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	_, stderr, err := e.Buildx(ctx, dir, append(append([]string{"build", "--progress=plain"}, args...), ".")...)
	if err != nil {
		t.Fatalf("build %v: %v\n%s", args, err, tail(string(stderr)))
	}
	return string(stderr)
}

// wipeBuilder empties the builder as a fresh CI runner is: every cache
// record, cache mounts included, goes. It then pulls the base images again,
// as a runner with an image cache (or a registry mirror next to it) has them.
func wipeBuilder(t *testing.T, e *testbed.Env, images ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, stderr, err := e.Buildctl(ctx, "", "prune", "--all"); err != nil {
		t.Fatalf("prune: %v\n%s", err, stderr)
	}
	du, stderr, err := e.Buildctl(ctx, "", "du", "-v")
	if err != nil {
		t.Fatalf("du: %v\n%s", err, stderr)
	}
	if strings.Contains(string(du), "hoist-go-") {
		t.Fatalf("hoist's cache mounts survived the prune:\n%s", du)
	}
	dir := t.TempDir()
	var df strings.Builder
	// A COPY from each image pulls and unpacks it, with or without a shell
	// in it; every test bed image has /etc/passwd.
	df.WriteString("FROM scratch\n")
	for i, img := range images {
		df.WriteString("COPY --from=" + img + " /etc/passwd /p" + strconv.Itoa(i) + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	bx(t, e, dir, "--output", "type=cacheonly")
}

var (
	compileRe = regexp.MustCompile(`/compile -o \S+ .*?-p (\S+)`)
	fetchRe   = regexp.MustCompile(`# get https://\S+`)
)

// compiled lists the packages go compiled, per the -x log.
func compiled(log string) []string {
	seen := map[string]bool{}
	for _, m := range compileRe.FindAllStringSubmatch(log, -1) {
		seen[m[1]] = true
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// goAppDir copies go-app into a temporary directory with df as its
// Dockerfile.
func goAppDir(t *testing.T, df string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-a", filepath.Join("..", "..", "examples", "go-app")+"/.", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy example: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(dir, "Dockerfile"), df)
	return dir
}

func writeFile(t *testing.T, file, content string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The go-app Dockerfile on the busybox-only and shell-less Go images, with
// go -x as goFlagsX makes it. The shell-less one runs go in exec form.
const (
	goAppBusybox = `FROM golang:1.26-busybox AS build
ENV GOFLAGS=-x
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o /out/app .

FROM busybox
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`
	goAppNoShell = `FROM golang:1.26-noshell AS build
ENV GOFLAGS=-x CGO_ENABLED=0
WORKDIR /src
COPY . .
RUN ["go", "build", "-o", "/out/app", "."]

FROM scratch
COPY --from=build /out/app /app
ENTRYPOINT ["/app"]
`
)

// TestCacheSeededRebuild is the CI round trip on the real test bed: a cold
// build of go-app, export of hoist's caches to the registry (--target
// hoist-cache), a wiped builder, then a rebuild after a one-line source
// edit with HOIST_CACHE_FROM. The rebuild must fetch no module and compile
// only the edited package, and its image must match a stock build of the
// same sources file by file. It runs on the Debian Go image, on the Go
// toolchain over a busybox userland, and on one with no shell at all (the
// export and seeding run hoist's own binary, not the base image's tools),
// with hoist named by BUILDKIT_SYNTAX, a syntax directive, and a syntax
// directive pinned by digest.
func TestCacheSeededRebuild(t *testing.T) {
	e := needEnv(t)
	ref, err := name.ParseReference(e.HoistImage, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	pinned := e.HoistImage + "@" + desc.Digest.String()
	for _, tc := range []struct {
		name, image string
		// df is the Dockerfile ("" for go-app's with go -x); syntax, when
		// set, names hoist in a syntax directive instead of BUILDKIT_SYNTAX.
		df, syntax string
	}{
		{name: "debian", image: "golang:1.26"},
		{name: "busybox", image: "golang:1.26-busybox", df: goAppBusybox, syntax: e.HoistImage},
		{name: "noshell", image: "golang:1.26-noshell", df: goAppNoShell, syntax: pinned},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dir string
			if tc.df == "" {
				dir = goFlagsX(t, "go-app")
			} else {
				dir = goAppDir(t, tc.df)
			}
			stockDF, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
			if err != nil {
				t.Fatal(err)
			}
			cacheRef := e.Registry + "/go-app-cache-" + tc.name + ":latest"
			hoist := []string{"--build-arg", "HOIST_CACHE_FROM=" + cacheRef}
			if tc.syntax == "" {
				hoist = append(hoist, "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage)
			} else {
				writeFile(t, filepath.Join(dir, "Dockerfile"), "# syntax="+tc.syntax+"\n"+string(stockDF))
			}
			seededRebuild(t, e, dir, tc.image, cacheRef, hoist, string(stockDF))
		})
	}
}

func seededRebuild(t *testing.T, e *testbed.Env, dir, image, cacheRef string, hoist []string, stockDF string) {
	wipeBuilder(t, e, image, "busybox")

	// First run: the cache image does not exist yet, a warning only.
	cold := bx(t, e, dir, append(hoist, "--output", "type=cacheonly")...)
	if !strings.Contains(cold, "hoist: HOIST_CACHE_FROM="+cacheRef+" not used") {
		t.Errorf("no warning about the missing cache image:\n%s", tail(cold))
	}
	if len(fetchRe.FindAllString(cold, -1)) == 0 || len(compiled(cold)) < 20 {
		t.Fatalf("the cold build fetched %d modules and compiled %d packages; the log does not show what the test looks for:\n%s",
			len(fetchRe.FindAllString(cold, -1)), len(compiled(cold)), tail(cold))
	}

	// A push only: a build that also exported the cache image locally hung
	// in buildx here (see the report); the rebuild below shows its content.
	exLog := bx(t, e, dir, append(hoist, "--target", "hoist-cache",
		"--output", "type=image,name="+cacheRef+",push=true")...)
	for _, want := range []string{
		"hoist: exported /run/hoist-cache-src to /hoist-cache/hoist-go-mod: ",
		"hoist: exported /run/hoist-cache-src to /hoist-cache/hoist-go-build: ",
	} {
		if !strings.Contains(exLog, want) {
			t.Fatalf("no %q in the export:\n%s", want, tail(exLog))
		}
	}
	checkCacheImage(t, cacheRef, "hoist-go-mod", "hoist-go-build")

	wipeBuilder(t, e, image, "busybox")

	main := filepath.Join(dir, "main.go")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, main, string(src)+"\n// edited\n")
	hoistOut := t.TempDir()
	warm := bx(t, e, dir, append(hoist, "--output", "type=local,dest="+hoistOut)...)
	if strings.Contains(warm, "not used, building without seeded caches") {
		t.Fatalf("the cache image was not used:\n%s", tail(warm))
	}
	if !strings.Contains(warm, "seeded from "+cacheRef) {
		t.Errorf("hoist did not report seeding:\n%s", tail(warm))
	}
	if !strings.Contains(warm, "hoist: Go build cache seeded from "+cacheRef+"@sha256:") {
		t.Errorf("the seeded Go build cache was not stamped:\n%s", tail(warm))
	}
	if stepCached(warm, "go mod download") {
		t.Fatalf("the download step came from the layer cache; the builder was not wiped:\n%s", tail(warm))
	}
	if f := fetchRe.FindAllString(warm, -1); len(f) > 0 {
		t.Errorf("modules fetched again despite the seeded module cache: %v", f)
	}
	if got := compiled(warm); len(got) != 1 || got[0] != "main" {
		t.Errorf("compiled %v after editing main.go, want only main (the rest from the seeded build cache):\n%s", got, tail(warm))
	}

	// A second export must see what the rebuild added: its copy steps never
	// come from the build cache.
	exLog = bx(t, e, dir, append(hoist, "--target", "hoist-cache", "--output", "type=cacheonly")...)
	if !strings.Contains(exLog, "hoist: exported /run/hoist-cache-src") || stepCached(exLog, "cache-export") {
		t.Errorf("hoist-cache copy steps missing or cached:\n%s", tail(exLog))
	}

	// Stock: the same sources through the built-in frontend.
	writeFile(t, filepath.Join(dir, "Dockerfile"), stockDF)
	stockOut := t.TempDir()
	bx(t, e, dir, "--output", "type=local,dest="+stockOut)
	if d := diffSnapshots(withoutCaches(snapshot(t, stockOut)), withoutCaches(snapshot(t, hoistOut))); d != "" {
		t.Errorf("exported filesystems differ:\n%s", d)
	}
}

// checkCacheImage checks the pushed cache image: its label lists ids, and
// it holds one directory per id and nothing else (none of hoist's image).
func checkCacheImage(t *testing.T, ref string, ids ...string) {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.Labels[llbgen.CacheIDsLabel]; got != strings.Join(ids, " ") {
		t.Errorf("label %s=%q, want %q", llbgen.CacheIDsLabel, got, strings.Join(ids, " "))
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	top := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		top[strings.SplitN(strings.TrimPrefix(path.Clean(h.Name), "/"), "/", 2)[0]] = true
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for d := range top {
		if !want[d] {
			t.Errorf("the cache image holds /%s", d)
		}
	}
	for d := range want {
		if !top[d] {
			t.Errorf("the cache image lacks /%s", d)
		}
	}
}

// TestCacheTestStage shows the CI pattern of examples/go-test-stage: unit
// tests run in the build (--target test) first, and the image build after
// them compiles none of the dependencies the tests compiled, because both
// use hoist's Go build cache mount.
func TestCacheTestStage(t *testing.T) {
	e := needEnv(t)
	dir := goFlagsX(t, "go-test-stage")
	hoist := []string{"--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage}
	wipeBuilder(t, e, "golang:1.26", "busybox")

	test := bx(t, e, dir, append(hoist, "--target", "test", "--output", "type=cacheonly")...)
	tested := compiled(test)
	if !contains(tested, "github.com/yuin/goldmark") {
		t.Fatalf("the test run did not compile goldmark (%v); the log does not show what the test looks for:\n%s", tested, tail(test))
	}
	out := t.TempDir()
	build := bx(t, e, dir, append(hoist, "--output", "type=local,dest="+out)...)
	for _, p := range compiled(build) {
		if contains(tested, p) && p != "main" && !strings.HasPrefix(p, "example.com/") {
			t.Errorf("the image build compiled %s again although the tests had compiled it", p)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "app")); err != nil {
		t.Errorf("no /app in the image: %v", err)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
