// Command bench (make bench) times the examples side by side through the
// test bed's buildx remote builder: each example's naive Dockerfile through
// the stock frontend and through hoist, and its hand-written
// Dockerfile.optimized through the stock frontend, in three scenarios (cold
// builder, one-line source edit, dependency version change). With -ci-cache
// it also times the CI cache round trip through hoist (HOIST_CACHE_FROM and
// --target hoist-cache). It prints a markdown table of medians and writes
// it, with every build log, to -out.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hoistbuild/hoist/test/testbed"
)

type variant struct {
	Name, Title, Dockerfile string
	Frontend                frontend
	Args                    []string // build flags of this variant
}

// frontend is what builds a variant's Dockerfile.
type frontend int

const (
	builtin    frontend = iota // BuildKit's built-in dockerfile.v0 (no syntax directive)
	hoistImage                 // the hoist image the test bed built, by BUILDKIT_SYNTAX
	stockImage                 // BuildKit's dockerfile frontend as an image, by BUILDKIT_SYNTAX
)

var naiveHoist = variant{Name: "naive-hoist", Title: "naive `Dockerfile`, hoist", Dockerfile: "Dockerfile", Frontend: hoistImage}

var variants = []variant{
	{Name: "naive-stock", Title: "naive `Dockerfile`, stock", Dockerfile: "Dockerfile"},
	naiveHoist,
	{Name: "optimized-stock", Title: "`Dockerfile.optimized`, stock", Dockerfile: "Dockerfile.optimized"},
}

// optional variants run only when -variants names them.
var optional = []variant{
	// The question of whether the hoisted download pays where the build
	// step has the module cache mounted: hoist's cache mounts without the
	// inserted download steps.
	{"naive-hoist-mounts", "naive `Dockerfile`, hoist mounts only (`HOIST_HOIST=off`)", "Dockerfile", hoistImage, []string{"--build-arg", "HOIST_HOIST=off"}},
	// What a Dockerfile starting with `# syntax=docker/dockerfile:1` gets:
	// the stock frontend as an image, started like hoist's.
	{"naive-stock-image", "naive `Dockerfile`, stock frontend image", "Dockerfile", stockImage, nil},
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
	ciCache bool
	ci      map[string]*ciResult // by example, with -ci-cache
	// stockImage is BuildKit's dockerfile frontend as an image, when a
	// variant uses it.
	stockImage string
	// mirror, with -npm-mirror, serves the npm registry to every build;
	// warmMisses is what it had fetched when the warm-up builds ended.
	mirror     *npmMirror
	mirrorFor  []string // base images pointed at it
	warmMisses int
}

// The CI cache rows, all through hoist on the naive Dockerfile.
var ciRows = []string{"ci-seeded", "ci-unseeded", "ci-warm", "ci-export"}

// ciResult is what the CI cache round trips of one example measured.
type ciResult struct {
	Samples map[string][]sample // by ciRows entry
	Sizes   []imageSize         // the pushed cache image, per repetition
	// Same holds, per repetition where both builds succeeded, how the
	// seeded and the unseeded rebuild's exported files differ ("" if not).
	Same []string
}

// imageSize is the compressed size of a pushed image: the sum of its
// manifest's layer sizes, what a fresh builder pulls.
type imageSize struct {
	Rep    int
	Bytes  int64
	Layers int
	Err    string
}

func main() {
	examples := flag.String("examples", "", "comma-separated example names (default: every examples/* with a Dockerfile.optimized)")
	reps := flag.Int("reps", 3, "repetitions per cell (the table shows the median)")
	out := flag.String("out", "", "directory for results.md and the build logs (default: a new temporary directory)")
	timeout := flag.Duration("build-timeout", 30*time.Minute, "limit for one build")
	only := flag.String("variants", "", "comma-separated variants to run (naive-stock, naive-hoist, optimized-stock; default these three; naive-hoist-mounts: hoist with HOIST_HOIST=off; naive-stock-image: BuildKit's dockerfile frontend of go.mod's version as a frontend image; none: only the -ci-cache rows)")
	ciCache := flag.Bool("ci-cache", false, "also time the CI cache round trip through hoist (HOIST_CACHE_FROM seeded, unseeded and warm-builder edit rebuilds)")
	npmMirror := flag.Bool("npm-mirror", false, "serve the npm registry to the builds from a caching mirror on 127.0.0.1, filled by untimed warm-up builds, so install times do not depend on the network")
	flag.Parse()
	if *only == "none" {
		if !*ciCache {
			fmt.Fprintln(os.Stderr, "bench: -variants none measures nothing without -ci-cache")
			os.Exit(2)
		}
		variants = nil
	} else if *only != "" {
		keep := map[string]bool{}
		for _, n := range strings.Split(*only, ",") {
			keep[strings.TrimSpace(n)] = true
		}
		var vs []variant
		for _, v := range append(variants, optional...) {
			if keep[v.Name] {
				vs = append(vs, v)
				delete(keep, v.Name)
			}
		}
		if len(keep) > 0 || len(vs) == 0 {
			fmt.Fprintf(os.Stderr, "bench: -variants %q: use naive-stock, naive-hoist, optimized-stock, naive-hoist-mounts, naive-stock-image\n", *only)
			os.Exit(2)
		}
		variants = vs
	}
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "bench: -reps must be at least 1")
		os.Exit(2)
	}
	if err := run(*examples, *reps, *out, *timeout, *ciCache, *npmMirror); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(examples string, reps int, out string, timeout time.Duration, ciCache, npmMirror bool) error {
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
	b := &bench{logf: logf, timeout: timeout, results: map[string]map[string]map[string][]sample{}, started: time.Now(),
		ciCache: ciCache, ci: map[string]*ciResult{}}
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
	for _, v := range variants {
		if v.Frontend == stockImage {
			if b.stockImage, err = env.StockFrontendImage(ctx); err != nil {
				return err
			}
			logf("stock frontend image %s", b.stockImage)
			break
		}
	}
	if npmMirror {
		if err := b.startMirror(ctx); err != nil {
			return err
		}
		defer b.mirror.Close()
	}

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
			if b.ciCache {
				if err := b.ciCell(ctx, p, rep); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					logf("%s CI cache rep %d: %v", p.Name, rep, err)
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

// startMirror starts the npm mirror, points the Node base images at it and
// fills it with one untimed build of each example's naive Dockerfile (and
// of its dependency change) through the built-in frontend, so that no
// timed variant pays the network for the others.
func (b *bench) startMirror(ctx context.Context) error {
	upstream := "https://registry.npmjs.org/"
	if out, err := b.env.Command(ctx, "", "npm", "config", "get", "registry").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		upstream = strings.TrimSpace(string(out))
	}
	m, err := startNpmMirror(upstream)
	if err != nil {
		return err
	}
	b.mirror = m
	var bases []string
	for _, p := range b.plans {
		bases = append(bases, p.Bases...)
	}
	if b.mirrorFor, err = m.pointImages(ctx, b.env.Registry, dedupe(bases)); err != nil {
		return fmt.Errorf("npm mirror: %w", err)
	}
	b.logf("npm mirror %s in front of %s for %v", m.URL, upstream, b.mirrorFor)
	warm := variant{Name: "mirror-warmup", Dockerfile: "Dockerfile"}
	for _, p := range b.plans {
		work, err := os.MkdirTemp("", "hoist-bench-work-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(work)
		dirs := map[string]string{"warmup": filepath.Join(work, "a")}
		if p.Bump != nil {
			dirs["warmup-bump"] = filepath.Join(work, "b")
		}
		for scenario, dir := range dirs {
			if err := copyTree(p.Dir, dir); err != nil {
				return err
			}
			if scenario == "warmup-bump" {
				if err := p.Bump.apply(ctx, dir); err != nil {
					return err
				}
			}
			if s := b.build(ctx, p, warm, 0, scenario, dir); s.Err != "" {
				return fmt.Errorf("npm mirror warm-up of %s failed, see %s", p.Name, s.Log)
			}
		}
	}
	_, b.warmMisses, _ = m.Stats()
	return nil
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// coldState prunes the builder and pulls the example's base images and the
// frontend images again (testbed.ColdBuilder), so every variant starts the
// way a CI runner with an image cache but no build cache does. The stock
// frontend image, when a variant uses it, is loaded for every variant alike.
func (b *bench) coldState(ctx context.Context, p *plan, work string) error {
	frontends := []string{b.env.HoistImage}
	if b.stockImage != "" {
		frontends = append(frontends, b.stockImage)
	}
	return b.env.ColdBuilder(ctx, work, p.Bases, frontends...)
}

// frontendImage is the BUILDKIT_SYNTAX value for f ("" for the built-in).
func (b *bench) frontendImage(f frontend) string {
	switch f {
	case hoistImage:
		return b.env.HoistImage
	case stockImage:
		return b.stockImage
	}
	return ""
}

// ciCell measures the CI cache round trip once, through hoist only:
//
//  1. from a cold builder, the first build of a fresh copy with
//     HOIST_CACHE_FROM (from the second repetition on, the image the
//     previous one pushed seeds it, as in CI), then the cache image export
//     pushed to the test bed registry;
//  2. a one-line edit, then the rebuild timed on a cold builder with
//     HOIST_CACHE_FROM (seeded: the cache image must be pulled), and on
//     another cold builder without it (unseeded);
//  3. on the builder the unseeded rebuild left warm, a second edit and its
//     rebuild (warm builder).
//
// The seeded and unseeded blocks swap places every repetition; each starts
// from its own cold builder. Their exported files must be the same.
func (b *bench) ciCell(ctx context.Context, p *plan, rep int) error {
	r := b.ci[p.Name]
	if r == nil {
		r = &ciResult{Samples: map[string][]sample{}}
		b.ci[p.Name] = r
	}
	record := func(row string, s sample) { r.Samples[row] = append(r.Samples[row], s) }
	fail := func(rows []string, err error) error {
		for _, row := range rows {
			record(row, sample{Rep: rep, Err: err.Error()})
		}
		return err
	}
	work, err := os.MkdirTemp("", "hoist-bench-work-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	ref := b.env.Registry + "/" + p.Name + "-cache:bench"
	seed := []string{"--build-arg", "HOIST_CACHE_FROM=" + ref}
	v := naiveHoist

	if err := b.coldState(ctx, p, work); err != nil {
		return fail(ciRows, fmt.Errorf("preparing the cold builder: %w", err))
	}
	a := filepath.Join(work, "a")
	if err := copyTree(p.Dir, a); err != nil {
		return fail(ciRows, err)
	}
	// Only logged: it is seeded from the first repetition on.
	if s := b.buildWith(ctx, p, v, rep, "ci-first", a, buildOpt{Args: seed}); s.Err != "" {
		return fail(ciRows, fmt.Errorf("first build failed, see %s", s.Log))
	}
	// A push only, as in the e2e round trip: buildx exporting the cache
	// image locally as well hung on the test bed.
	s := b.buildWith(ctx, p, v, rep, "ci-export", a, buildOpt{
		Args:   append(append([]string(nil), seed...), "--target", "hoist-cache"),
		Output: "type=image,name=" + ref + ",push=true",
	})
	record("ci-export", s)
	if s.Err != "" {
		return fail(ciRows[:3], fmt.Errorf("cache image export failed, see %s", s.Log))
	}
	sz := pushedSize(ctx, ref)
	sz.Rep = rep
	r.Sizes = append(r.Sizes, sz)
	if sz.Err != "" {
		b.logf("%s rep %d cache image %s: %s", p.Name, rep, ref, sz.Err)
	} else {
		b.logf("%s rep %d cache image %s: %s in %d layers", p.Name, rep, ref, mib(sz.Bytes), sz.Layers)
	}

	if err := appendComment(filepath.Join(a, p.Edit), fmt.Sprintf("bench CI edit rep %d %d", rep, time.Now().UnixNano())); err != nil {
		return fail(ciRows[:3], err)
	}
	// The unseeded block edits again for the warm rebuild: its own copy
	// keeps the seeded block's sources the same in either order.
	u := filepath.Join(work, "u")
	if err := copyTree(a, u); err != nil {
		return fail(ciRows[:3], err)
	}
	seededOut, unseededOut := filepath.Join(work, "out-seeded"), filepath.Join(work, "out-unseeded")
	seeded := func() error {
		if err := b.coldState(ctx, p, work); err != nil {
			return fail([]string{"ci-seeded"}, fmt.Errorf("preparing the cold builder: %w", err))
		}
		record("ci-seeded", b.buildWith(ctx, p, v, rep, "ci-seeded", a, buildOpt{Args: seed, Dest: seededOut}))
		return nil
	}
	unseeded := func() error {
		if err := b.coldState(ctx, p, work); err != nil {
			return fail([]string{"ci-unseeded", "ci-warm"}, fmt.Errorf("preparing the cold builder: %w", err))
		}
		s := b.buildWith(ctx, p, v, rep, "ci-unseeded", u, buildOpt{Dest: unseededOut})
		record("ci-unseeded", s)
		if s.Err != "" {
			return fail([]string{"ci-warm"}, fmt.Errorf("unseeded rebuild failed, see %s", s.Log))
		}
		if err := appendComment(filepath.Join(u, p.Edit), fmt.Sprintf("bench CI warm edit rep %d %d", rep, time.Now().UnixNano())); err != nil {
			return fail([]string{"ci-warm"}, err)
		}
		record("ci-warm", b.build(ctx, p, v, rep, "ci-warm", u))
		return nil
	}
	blocks := []func() error{seeded, unseeded}
	if rep%2 == 0 {
		blocks[0], blocks[1] = unseeded, seeded
	}
	var errs []error
	for _, f := range blocks {
		if err := f(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err)
		}
	}
	if last := func(row string) sample { ss := r.Samples[row]; return ss[len(ss)-1] }; last("ci-seeded").Err == "" && last("ci-unseeded").Err == "" {
		d, err := diffTrees(seededOut, unseededOut)
		if err != nil {
			d = "comparison failed: " + err.Error()
		}
		r.Same = append(r.Same, d)
		if d != "" {
			b.logf("%s rep %d: the seeded and unseeded rebuilds exported different files:\n%s", p.Name, rep, d)
		}
	}
	return errors.Join(errs...)
}

// pushedSize reads the manifest of ref from the test bed registry (plain
// HTTP) and adds up its layer sizes. An index (attestations, several
// platforms) counts its first image for a real platform.
func pushedSize(ctx context.Context, ref string) imageSize {
	var sz imageSize
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		sz.Err = err.Error()
		return sz
	}
	desc, err := remote.Get(r, remote.WithContext(ctx))
	if err != nil {
		sz.Err = err.Error()
		return sz
	}
	img, err := desc.Image() // an index resolves to the image for the default platform
	if err != nil {
		sz.Err = err.Error()
		return sz
	}
	m, err := img.Manifest()
	if err != nil {
		sz.Err = err.Error()
		return sz
	}
	for _, l := range m.Layers {
		sz.Bytes += l.Size
	}
	sz.Layers = len(m.Layers)
	return sz
}

// buildOpt changes what buildWith runs.
type buildOpt struct {
	Args   []string // more flags: build args, --target
	Output string   // --output; default type=local into Dest or a temporary directory
	Dest   string   // with the default output: export here and keep it (the caller removes it)
}

// build runs one timed `docker buildx build`, exporting the result to a
// local directory so every step really runs, and keeps its log.
func (b *bench) build(ctx context.Context, p *plan, v variant, rep int, scenario, dir string) sample {
	return b.buildWith(ctx, p, v, rep, scenario, dir, buildOpt{})
}

func (b *bench) buildWith(ctx context.Context, p *plan, v variant, rep int, scenario, dir string, o buildOpt) sample {
	logPath := filepath.Join(b.out, "logs", p.Name, fmt.Sprintf("%s-%s-rep%d.log", scenario, v.Name, rep))
	s := sample{Rep: rep, Log: logPath}
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		s.Err = err.Error()
		return s
	}
	output, dest := o.Output, o.Dest
	if output == "" {
		if dest == "" {
			tmp, err := os.MkdirTemp("", "hoist-bench-out-")
			if err != nil {
				s.Err = err.Error()
				return s
			}
			defer os.RemoveAll(tmp)
			dest = tmp
		}
		output = "type=local,dest=" + dest
	}
	args := []string{"buildx", "build", "--progress=plain", "-f", v.Dockerfile}
	if img := b.frontendImage(v.Frontend); img != "" {
		args = append(args, "--build-arg", "BUILDKIT_SYNTAX="+img)
	}
	args = append(append(append(args, v.Args...), o.Args...), "--output", output, ".")
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
	if err == nil && o.Output == "" {
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
	b.logf("%s rep %d %-15s %-11s %7.1fs  (load %.1f)%s", p.Name, rep, v.Name, scenario, s.Secs, s.Load, errSuffix(s.Err))
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
