// Command bench (make bench) times the examples side by side through the
// test bed's buildx remote builder: each example's naive Dockerfile through
// the stock frontend and through hoist, and its hand-written
// Dockerfile.optimized through the stock frontend, in three scenarios (cold
// builder, one-line source edit, dependency version change). It prints a
// markdown table of medians and writes it, with every build log, to -out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
)

type variant struct {
	Name, Title, Dockerfile string
	Hoist                   bool
}

var variants = []variant{
	{"naive-stock", "naive `Dockerfile`, stock", "Dockerfile", false},
	{"naive-hoist", "naive `Dockerfile`, hoist", "Dockerfile", true},
	{"optimized-stock", "`Dockerfile.optimized`, stock", "Dockerfile.optimized", false},
}

var scenarios = []string{"cold", "edit", "bump"}

// sample is one timed build.
type sample struct {
	Rep  int
	Secs float64
	Load float64 // 1-minute load average when the build started
	Log  string
	Err  string
}

type bench struct {
	env     *testbed.Env
	out     string
	logf    func(string, ...any)
	timeout time.Duration
	plans   []*plan
	// results[example][scenario][variant]
	results map[string]map[string]map[string][]sample
	machine machineInfo
	started time.Time
}

func main() {
	examples := flag.String("examples", "", "comma-separated example names (default: every examples/* with a Dockerfile.optimized)")
	reps := flag.Int("reps", 3, "repetitions per cell (the table shows the median)")
	out := flag.String("out", "", "directory for results.md and the build logs (default: a new temporary directory)")
	timeout := flag.Duration("build-timeout", 30*time.Minute, "limit for one build")
	only := flag.String("variants", "", "comma-separated variants to run (naive-stock, naive-hoist, optimized-stock; default all)")
	flag.Parse()
	if *only != "" {
		keep := map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			keep[strings.TrimSpace(n)] = true
		}
		var vs []variant
		for _, v := range variants {
			if keep[v.Name] {
				vs = append(vs, v)
				delete(keep, v.Name)
			}
		}
		if len(keep) > 0 || len(vs) == 0 {
			fmt.Fprintf(os.Stderr, "bench: -variants %q: use naive-stock, naive-hoist, optimized-stock\n", *only)
			os.Exit(2)
		}
		variants = vs
	}
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reps must be at least 1")
		os.Exit(2)
	}
	if err := run(*examples, *reps, *out, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(examples string, reps int, out string, timeout time.Duration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
	repo, err := testbed.RepoRoot(ctx)
	if err != nil {
		return err
	}
	var names []string
	if examples == "" {
		if names, err = examplesWithOptimized(repo); err != nil {
			return err
		}
	} else {
		for _, n := range strings.Split(examples, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no examples to measure")
	}
	b := &bench{logf: logf, timeout: timeout, results: map[string]map[string]map[string][]sample{}, started: time.Now()}
	// Plans first: a bad example name or an unreachable registry fails
	// before the long test bed setup.
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(repo, "examples", n, "Dockerfile.optimized")); err != nil {
			return fmt.Errorf("example %q: no Dockerfile.optimized: %w", n, err)
		}
		p, err := makePlan(ctx, repo, n)
		if err != nil {
			return err
		}
		desc := "none: " + p.BumpWhy
		if p.Bump != nil {
			desc = p.Bump.String()
		}
		logf("%s: bases %v, edit %s, dependency change %s", n, p.Bases, p.Edit, desc)
		b.plans = append(b.plans, p)
	}
	if out == "" {
		if out, err = os.MkdirTemp("", "hoist-bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if b.out, err = filepath.Abs(out); err != nil {
		return err
	}
	logf("results and logs go to %s", b.out)

	hoistRev := hoistVersion(ctx, repo)
	env, err := testbed.Start(ctx, testbed.Options{Logf: logf})
	if err != nil {
		return err
	}
	defer func() {
		if err := env.Close(); err != nil {
			logf("teardown: %v", err)
		}
	}()
	b.env = env
	b.machine = gatherMachine(ctx, env)
	b.machine.Hoist = hoistRev

	for _, p := range b.plans {
		for rep := 1; rep <= reps; rep++ {
			// Rotate the variant order so slow drifts in machine load
			// do not always hit the same variant.
			for i := range variants {
				v := variants[(i+rep-1)%len(variants)]
				if err := b.cell(ctx, p, v, rep); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					// A failed cell is reported in the table, not hidden.
					logf("%s %s rep %d: %v", p.Name, v.Name, rep, err)
				}
				if err := b.write(); err != nil {
					return err
				}
			}
		}
	}
	report := b.report()
	fmt.Print(report)
	logf("wrote %s", filepath.Join(b.out, "results.md"))
	return nil
}

// cell measures one variant once in all three scenarios, from a pruned
// builder: cold build of a fresh copy, the same copy after a one-line
// edit, then a second fresh copy with one dependency changed.
func (b *bench) cell(ctx context.Context, p *plan, v variant, rep int) error {
	work, err := os.MkdirTemp("", "hoist-bench-work-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	record := func(scenario string, s sample) {
		m := b.results[p.Name]
		if m == nil {
			m = map[string]map[string][]sample{}
			b.results[p.Name] = m
		}
		if m[scenario] == nil {
			m[scenario] = map[string][]sample{}
		}
		m[scenario][v.Name] = append(m[scenario][v.Name], s)
	}
	fail := func(scenarios []string, err error) error {
		for _, sc := range scenarios {
			record(sc, sample{Rep: rep, Err: err.Error()})
		}
		return err
	}

	if err := b.coldState(ctx, p, work); err != nil {
		return fail(scenarios, fmt.Errorf("preparing the cold builder: %w", err))
	}
	a := filepath.Join(work, "a")
	if err := copyTree(p.Dir, a); err != nil {
		return fail(scenarios, err)
	}
	s := b.build(ctx, p, v, rep, "cold", a)
	record("cold", s)
	if s.Err != "" {
		return fail([]string{"edit", "bump"}, fmt.Errorf("cold build failed, see %s", s.Log))
	}

	if err := appendComment(filepath.Join(a, p.Edit), fmt.Sprintf("bench edit %s rep %d %d", v.Name, rep, time.Now().UnixNano())); err != nil {
		return fail([]string{"edit", "bump"}, err)
	}
	s = b.build(ctx, p, v, rep, "edit", a)
	record("edit", s)

	if p.Bump == nil {
		return nil
	}
	c := filepath.Join(work, "b")
	if err := copyTree(p.Dir, c); err != nil {
		return fail([]string{"bump"}, err)
	}
	if err := p.Bump.apply(ctx, c); err != nil {
		return fail([]string{"bump"}, err)
	}
	record("bump", b.build(ctx, p, v, rep, "bump", c))
	return nil
}

// coldState prunes the whole builder cache (layers, cache mounts, pulled
// images), then pulls the example's base images again and loads the hoist
// frontend image with small unrelated builds, so every variant starts the
// way a CI runner with an image cache but no build cache does.
func (b *bench) coldState(ctx context.Context, p *plan, work string) error {
	if _, stderr, err := b.env.Buildctl(ctx, "", "prune", "--all"); err != nil {
		return fmt.Errorf("%w\n%s", err, stderr)
	}
	for i, base := range p.Bases {
		dir := filepath.Join(work, fmt.Sprintf("warmup-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		// RUN makes BuildKit fetch and unpack the layers; a bare FROM
		// would be resolved lazily and leave nothing behind.
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+base+"\nRUN true\n"), 0o644); err != nil {
			return err
		}
		args := []string{"build", "--progress=plain", "--output", "type=cacheonly"}
		if i == 0 {
			// The first warm-up goes through hoist: its image is what
			// BUILDKIT_SYNTAX pulls. The others need no frontend pull.
			args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+b.env.HoistImage)
		}
		if _, stderr, err := b.env.Buildx(ctx, dir, append(args, ".")...); err != nil {
			return fmt.Errorf("warm-up build of %s: %w\n%s", base, err, tailString(string(stderr), 3000))
		}
	}
	return nil
}

// build runs one timed `docker buildx build`, exporting the result to a
// local directory so every step really runs, and keeps its log.
func (b *bench) build(ctx context.Context, p *plan, v variant, rep int, scenario, dir string) sample {
	logPath := filepath.Join(b.out, "logs", p.Name, fmt.Sprintf("%s-%s-rep%d.log", scenario, v.Name, rep))
	s := sample{Rep: rep, Log: logPath}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		s.Err = err.Error()
		return s
	}
	dest, err := os.MkdirTemp("", "hoist-bench-out-")
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer os.RemoveAll(dest)
	args := []string{"buildx", "build", "--progress=plain", "-f", v.Dockerfile}
	if v.Hoist {
		args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+b.env.HoistImage)
	}
	args = append(args, "--output", "type=local,dest="+dest, ".")
	logf, err := os.Create(logPath)
	if err != nil {
		s.Err = err.Error()
		return s
	}
	defer logf.Close()
	fmt.Fprintf(logf, "$ docker %s\n", strings.Join(args, " "))
	bctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	cmd := b.env.Command(bctx, dir, "docker", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	s.Load = loadAvg()
	start := time.Now()
	err = cmd.Run()
	s.Secs = time.Since(start).Seconds()
	if err == nil {
		// An export with no files would mean nothing was built.
		if ents, rerr := os.ReadDir(dest); rerr != nil || len(ents) == 0 {
			err = fmt.Errorf("the build exported no files")
		}
	}
	if err != nil {
		s.Err = err.Error()
		fmt.Fprintf(logf, "\nbench: build failed: %v\n", err)
	}
	fmt.Fprintf(logf, "\nbench: %.2fs wall, load average %.2f at start\n", s.Secs, s.Load)
	b.logf("%s rep %d %-15s %-4s %7.1fs  (load %.1f)%s", p.Name, rep, v.Name, scenario, s.Secs, s.Load, errSuffix(s.Err))
	return s
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return "  FAILED: " + e
}

func (b *bench) write() error {
	return os.WriteFile(filepath.Join(b.out, "results.md"), []byte(b.report()), 0o644)
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
