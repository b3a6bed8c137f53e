package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

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
	for i, img := range images {
		df.WriteString("FROM " + img + " AS s" + strconv.Itoa(i) + "\nRUN touch /pulled\n")
	}
	df.WriteString("FROM scratch\n")
	for i := range images {
		df.WriteString("COPY --from=s" + strconv.Itoa(i) + " /pulled /p" + strconv.Itoa(i) + "\n")
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

// TestCacheSeededRebuild is the CI round trip on the real test bed: a cold
// build of go-app, export of hoist's caches to the registry (--target
// hoist-cache), a wiped builder, then a rebuild after a one-line source
// edit with HOIST_CACHE_FROM. The rebuild must fetch no module and compile
// only the edited package, and its image must match a stock build of the
// same sources file by file.
func TestCacheSeededRebuild(t *testing.T) {
	e := needEnv(t)
	dir := goFlagsX(t, "go-app")
	cacheRef := e.Registry + "/go-app-cache:latest"
	hoist := []string{"--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage, "--build-arg", "HOIST_CACHE_FROM=" + cacheRef}

	wipeBuilder(t, e, "golang:1.26", "busybox")

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
	if !strings.Contains(exLog, "cp -a /run/hoist-cache-src /hoist-cache/hoist-go-mod") {
		t.Fatalf("no copy step for the module cache:\n%s", tail(exLog))
	}

	wipeBuilder(t, e, "golang:1.26", "busybox")

	main := filepath.Join(dir, "main.go")
	src, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, append(src, []byte("\n// edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	hoistOut := t.TempDir()
	warm := bx(t, e, dir, append(hoist, "--output", "type=local,dest="+hoistOut)...)
	if strings.Contains(warm, "not used, building without seeded caches") {
		t.Fatalf("the cache image was not used:\n%s", tail(warm))
	}
	if !strings.Contains(warm, "seeded from "+cacheRef) {
		t.Errorf("hoist did not report seeding:\n%s", tail(warm))
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

	stockOut := t.TempDir()
	bx(t, e, dir, "--output", "type=local,dest="+stockOut)
	if d := diffSnapshots(withoutCaches(snapshot(t, stockOut)), withoutCaches(snapshot(t, hoistOut))); d != "" {
		t.Errorf("exported filesystems differ:\n%s", d)
	}

	// A second export must see what the rebuild added: its copy steps never
	// come from the build cache.
	exLog = bx(t, e, dir, append(hoist, "--target", "hoist-cache", "--output", "type=cacheonly")...)
	if !strings.Contains(exLog, "cp -a /run/hoist-cache-src") || stepCached(exLog, "cp -a /run/hoist-cache-src") {
		t.Errorf("hoist-cache copy steps missing or cached:\n%s", tail(exLog))
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
