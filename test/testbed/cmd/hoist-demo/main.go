// Command hoist-demo shows what hoist is for (make demo). On a private test
// bed (registry, buildkitd, buildx builder, hoist image built from this
// checkout) it builds an example's naive Dockerfile with `docker buildx
// build`, once with the stock frontend and once through hoist: each variant
// from a pruned builder, then again after a one-line source edit. It prints
// the times, whether both exported the same files, and what hoist changed
// in the Dockerfile (hoist explain --diff), then tears everything down.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
)

func main() {
	example := flag.String("example", "examples/go-app", "build context (relative to the repo) whose Dockerfile is built")
	edit := flag.String("edit", "main.go", "file in the example (relative) that gets a comment line appended")
	verbose := flag.Bool("v", false, "also print the test bed's frontend image build and every build log")
	flag.Parse()
	if err := run(*example, *edit, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "hoist-demo:", err)
		os.Exit(1)
	}
}

// variant is one way of building the example's Dockerfile.
type variant struct {
	name  string
	hoist bool
}

var variants = []variant{{"stock", false}, {"hoist", true}}

type demo struct {
	env     *testbed.Env
	logf    func(string, ...any)
	verbose bool
	bases   []string
	work    string
}

func run(example, edit string, verbose bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "hoist-demo: "+format+"\n", args...)
	}
	repo, err := testbed.RepoRoot(ctx)
	if err != nil {
		return err
	}
	src := filepath.Join(repo, example)
	bases, err := testbed.BaseImages(filepath.Join(src, "Dockerfile"))
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(src, edit)); err != nil {
		return fmt.Errorf("-edit: %w", err)
	}
	// hoist explain needs no daemon: run it first, so a broken checkout
	// fails before the long setup.
	explain, err := hoistExplain(ctx, repo, example)
	if err != nil {
		return err
	}

	opts := testbed.Options{Logf: logf}
	if verbose {
		opts.FrontendOutput = os.Stderr
	}
	env, err := testbed.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		if err := env.Close(); err != nil {
			logf("teardown: %v", err)
		}
	}()
	setup := time.Since(start)
	logf("test bed ready in %s", setup.Round(time.Second))

	d := &demo{env: env, logf: logf, verbose: verbose, bases: bases, work: filepath.Join(env.Dir, "demo")}
	load := loadAvg()
	res := results{Example: example, EditFile: edit}
	outs := map[string][2]string{} // variant -> exported trees of the cold and the edit build
	for _, v := range variants {
		// Its own copy of the example, so nothing one variant did can
		// serve the other; the same edit in both keeps their inputs equal.
		dir := filepath.Join(d.work, v.name, "src")
		if err := copyDir(src, dir); err != nil {
			return err
		}
		if err := d.coldBuilder(ctx, v); err != nil {
			return err
		}
		cold := filepath.Join(d.work, v.name, "out-cold")
		secs, err := d.build(ctx, v, "cold", dir, cold)
		if err != nil {
			return err
		}
		res.Cold = append(res.Cold, secs)
		if err := appendLine(filepath.Join(dir, edit), "// hoist-demo: a one-line edit"); err != nil {
			return err
		}
		edited := filepath.Join(d.work, v.name, "out-edit")
		if secs, err = d.build(ctx, v, "edit", dir, edited); err != nil {
			return err
		}
		res.Edit = append(res.Edit, secs)
		outs[v.name] = [2]string{cold, edited}
	}
	for i, what := range []string{"cold", "edit"} {
		diff, n, err := compare(outs["stock"][i], outs["hoist"][i])
		if err != nil {
			return err
		}
		res.Paths = append(res.Paths, n)
		if diff != "" {
			res.Diffs = append(res.Diffs, what+" build:\n"+diff)
		}
	}

	fmt.Println()
	fmt.Print(res.Table())
	fmt.Printf("(%d CPUs, load average %.1f before the builds; times from this run)\n", runtime.NumCPU(), load)
	fmt.Printf("\nWhat hoist changed ($ go run ./cmd/hoist explain --diff %s):\n\n%s", example, explain)
	fmt.Printf("\ndemo took %s (test bed setup %s)\n", time.Since(start).Round(time.Second), setup.Round(time.Second))
	if len(res.Diffs) > 0 {
		return fmt.Errorf("stock and hoist exported different files")
	}
	return nil
}

// coldBuilder prunes the whole builder cache (layers, cache mounts, pulled
// images), then pulls the example's base images again and, for hoist, the
// frontend image, with small unrelated builds: each variant starts like a
// CI runner that has its images but no build cache.
func (d *demo) coldBuilder(ctx context.Context, v variant) error {
	d.logf("%s: pruning the builder, pulling %s", v.name, strings.Join(d.bases, ", "))
	if _, stderr, err := d.env.Buildctl(ctx, "", "prune", "--all"); err != nil {
		return fmt.Errorf("%w\n%s", err, stderr)
	}
	for i, base := range d.bases {
		dir := filepath.Join(d.work, v.name, fmt.Sprintf("warmup-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// RUN makes BuildKit fetch and unpack the layers; a bare FROM
		// would leave nothing behind.
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nRUN true\n"), 0o644); err != nil {
			return err
		}
		args := []string{"build", "--progress=plain", "--output", "type=cacheonly"}
		if v.hoist && i == 0 {
			args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+d.env.HoistImage)
		}
		if _, stderr, err := d.env.Buildx(ctx, dir, append(args, ".")...); err != nil {
			return fmt.Errorf("warm-up build of %s: %w\n%s", base, err, tail(string(stderr), 3000))
		}
	}
	return nil
}

// build runs one timed `docker buildx build` of the Dockerfile in dir,
// exporting the result as a tar (a type=local export of many files can
// stall, see testbed.Untar) unpacked into out.
func (d *demo) build(ctx context.Context, v variant, what, dir, out string) (float64, error) {
	tarFile := out + ".tar"
	args := []string{"buildx", "build", "--progress=plain"}
	if v.hoist {
		args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+d.env.HoistImage)
	}
	args = append(args, "--output", "type=tar,dest="+tarFile, ".")
	bctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	cmd := d.env.Command(bctx, dir, "docker", args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if d.verbose {
		fmt.Fprintf(os.Stderr, "$ docker %s   (%s copy)\n", strings.Join(args, " "), v.name)
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&log, os.Stderr), io.MultiWriter(&log, os.Stderr)
	}
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	if err != nil {
		return 0, fmt.Errorf("%s %s build failed: %w\n%s", v.name, what, err, tail(log.String(), 6000))
	}
	// The comparison means nothing unless the hoist builds ran hoist.
	if used := strings.Contains(log.String(), "docker-image://"+d.env.HoistImage); used != v.hoist {
		return 0, fmt.Errorf("%s %s build: hoist image used: %v\n%s", v.name, what, used, tail(log.String(), 6000))
	}
	d.logf("%s %-4s %6.1f s", v.name, what, secs)
	f, err := os.Open(tarFile)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, err
	}
	if err := testbed.Untar(f, out); err != nil {
		return 0, fmt.Errorf("unpacking the %s %s export: %w", v.name, what, err)
	}
	return secs, nil
}

// compare lists both exported trees (mode, owner, symlink target, content
// of every path) and returns their differences ("" if none) and how many
// paths were compared.
func compare(stock, hoist string) (string, int, error) {
	a, err := testbed.Tree(stock)
	if err != nil {
		return "", 0, err
	}
	b, err := testbed.Tree(hoist)
	if err != nil {
		return "", 0, err
	}
	return testbed.DiffTrees(a, b, "stock", "hoist"), len(a), nil
}

// hoistExplain runs the repo's hoist CLI on the example.
func hoistExplain(ctx context.Context, repo, example string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "run", "./cmd/hoist", "explain", "--diff", example)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("hoist explain --diff %s: %w\n%s", example, err, stderr.String())
	}
	return string(out), nil
}

func copyDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s %s: %w\n%s", src, dst, err, out)
	}
	return nil
}

func appendLine(file, line string) error {
	dt, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if len(dt) > 0 && dt[len(dt)-1] != '\n' {
		dt = append(dt, '\n')
	}
	return os.WriteFile(file, append(dt, line+"\n"...), 0o644)
}

// loadAvg is the 1-minute load average (0 if unknown): the machine may be
// shared, which the times should be read with.
func loadAvg() float64 {
	var l float64
	if dt, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscanf(string(dt), "%f", &l)
	}
	return l
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
