package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/distribution/reference"
	"github.com/hoistbuild/hoist/frontend"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/test/testbed"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkFrontendOverhead measures hoist's own cost on a warm one-line-edit
// rebuild of an example, against BuildKit's stock Dockerfile frontend, both
// run in this process against the test bed's buildkitd. Stock builds hoist's
// rewrite of the Dockerfile, so both solve the same steps; what differs is
// the frontend. Per round, each frontend rebuilds once after its own edit,
// in alternating order; it reports the median and range of the time spent
// inside the frontend's Build (reading the Dockerfile, lookups, conversion;
// the steps run after it returns) and of the whole build.
//
//	go test -count=1 -run '^$' -bench FrontendOverhead -benchtime 10x ./test/e2e/
//
// HOIST_BENCH_EXAMPLE picks the example (default go-app), HOIST_BENCH_EDIT
// the file edited (relative; default main.go, index.js, src/index.js,
// src/index.ts, src/main.tsx or src/main.ts, the first there).
func BenchmarkFrontendOverhead(b *testing.B) {
	e := bedFor(b)
	src := benchExample(b, "go-app")
	work := b.TempDir()
	if out, err := exec.Command("cp", "-a", src+"/.", work).CombinedOutput(); err != nil {
		b.Fatalf("copy %s: %v\n%s", src, err, out)
	}
	edit := editFile(b, work)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	naive := filepath.Join(b.TempDir(), "naive")
	rewritten := filepath.Join(b.TempDir(), "rewritten")
	for _, d := range []string{naive, rewritten} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	dt, err := os.ReadFile(filepath.Join(work, "Dockerfile"))
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(naive, "Dockerfile"), dt, 0o644); err != nil {
		b.Fatal(err)
	}
	rw := rewriteFor(b, e, work, dt)
	if err := os.WriteFile(filepath.Join(rewritten, "Dockerfile"), rw, 0o644); err != nil {
		b.Fatal(err)
	}

	type variant struct {
		name  string
		dfDir string
		build gateway.BuildFunc
	}
	variants := []variant{
		{"hoist", naive, frontend.Build},
		{"stock", rewritten, builder.Build},
	}
	frontendTime := map[string][]time.Duration{}
	total := map[string][]time.Duration{}
	run := func(v variant, record bool) {
		mounts, err := testbed.LocalDirs(work, v.dfDir)
		if err != nil {
			b.Fatal(err)
		}
		var inside time.Duration
		timed := func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
			start := time.Now()
			defer func() { inside = time.Since(start) }()
			return v.build(ctx, c)
		}
		var progress strings.Builder
		start := time.Now()
		_, err = e.Solve(ctx, client.SolveOpt{
			LocalMounts:   mounts,
			FrontendAttrs: map[string]string{"filename": "Dockerfile"},
			Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: b.TempDir()}},
		}, timed, &progress)
		took := time.Since(start)
		if err != nil {
			b.Fatalf("%s build: %v\n%s", v.name, err, tail(progress.String()))
		}
		if record {
			frontendTime[v.name] = append(frontendTime[v.name], inside)
			total[v.name] = append(total[v.name], took)
		}
	}
	// Warm the builder: a first build of each, then one edit each.
	for _, v := range variants {
		run(v, false)
	}
	for i, v := range variants {
		appendLine(b, edit, fmt.Sprintf("// warm-up edit %d", i))
		run(v, false)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		order := variants
		if i%2 == 1 {
			order = []variant{variants[1], variants[0]}
		}
		for _, v := range order {
			appendLine(b, edit, fmt.Sprintf("// edit %d %s %d", i, v.name, time.Now().UnixNano()))
			run(v, true)
		}
	}
	b.StopTimer()
	for _, v := range variants {
		f, t := frontendTime[v.name], total[v.name]
		b.Logf("%s: frontend %v (%v–%v), whole build %v (%v–%v), %d rounds", v.name,
			median(f).Round(time.Millisecond), slices.Min(f).Round(time.Millisecond), slices.Max(f).Round(time.Millisecond),
			median(t).Round(time.Millisecond), slices.Min(t).Round(time.Millisecond), slices.Max(t).Round(time.Millisecond), len(f))
	}
	// The paired difference per round, hoist minus stock.
	var diff []time.Duration
	for i := range frontendTime["hoist"] {
		diff = append(diff, frontendTime["hoist"][i]-frontendTime["stock"][i])
	}
	b.Logf("hoist - stock, frontend time per round: median %v (%v–%v)", median(diff).Round(time.Millisecond),
		slices.Min(diff).Round(time.Millisecond), slices.Max(diff).Round(time.Millisecond))
	b.ReportMetric(float64(median(frontendTime["hoist"]).Microseconds())/1000, "hoist-frontend-ms")
	b.ReportMetric(float64(median(frontendTime["stock"]).Microseconds())/1000, "stock-frontend-ms")
	b.ReportMetric(float64(median(diff).Microseconds())/1000, "overhead-ms")
}

// editFile is the example's source file the edits go to: main.go for Go,
// else the first .js/.ts file found.
func editFile(b *testing.B, dir string) string {
	if n := os.Getenv("HOIST_BENCH_EDIT"); n != "" {
		return filepath.Join(dir, n)
	}
	for _, n := range []string{"main.go", "index.js", "src/index.js", "src/index.ts", "src/main.tsx", "src/main.ts"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err == nil {
			return filepath.Join(dir, n)
		}
	}
	b.Fatalf("no source file to edit in %s", dir)
	return ""
}

func appendLine(b *testing.B, file, line string) {
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.WriteString(f, "\n"+line+"\n"); err != nil {
		b.Fatal(err)
	}
}

// rewriteFor rewrites dt as the frontend would, with base image configs
// from the test bed's registry and manifests from the directory.
func rewriteFor(b *testing.B, e *testbed.Env, dir string, dt []byte) []byte {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dctx, err := llbgen.NewDirContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		b.Fatal(err)
	}
	var out []byte
	p := ocispecs.Platform{OS: "linux", Architecture: runtime.GOARCH}
	_, err = e.Solve(ctx, client.SolveOpt{}, func(ctx context.Context, c gateway.Client) (*gateway.Result, error) {
		rw, err := llbgen.Rewrite(ctx, dt, llbgen.Options{
			Config:         llbgen.DefaultConfig(),
			TargetPlatform: &p,
			BuildPlatform:  &p,
			Images:         gatewayConfigs{c},
			Context:        dctx,
		})
		if err != nil {
			return nil, err
		}
		out = rw.Dockerfile
		return gateway.NewResult(), nil
	}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if string(out) == string(dt) {
		b.Fatal("hoist does not rewrite the example; nothing to compare")
	}
	return out
}

// gatewayConfigs reads image configs through a gateway client.
type gatewayConfigs struct{ c gateway.Client }

func (g gatewayConfigs) Config(ctx context.Context, ref string, p *ocispecs.Platform) (*llbgen.ImageConfig, error) {
	if named, err := reference.ParseNormalizedNamed(ref); err == nil {
		ref = reference.TagNameOnly(named).String()
	}
	_, _, dt, err := g.c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{ImageOpt: &sourceresolver.ResolveImageOpt{Platform: p}})
	if err != nil {
		return nil, err
	}
	var img dockerspec.DockerOCIImage
	if err := json.Unmarshal(dt, &img); err != nil {
		return nil, err
	}
	return &llbgen.ImageConfig{Env: img.Config.Env, User: img.Config.User, WorkingDir: img.Config.WorkingDir, Shell: img.Config.Shell}, nil
}

func (gatewayConfigs) Passwd(context.Context, string, *ocispecs.Platform) ([]byte, error) {
	return nil, nil
}

// BenchmarkColdFirstStep measures, on a pruned builder (no layers, no
// pulled images), the time from the start of a build to the start of its
// first RUN step, through hoist and through the stock frontend, in
// alternating order. It shows what hoist's lookups before the build is
// submitted cost; a RUN as a named user makes hoist read the base image's
// /etc/passwd first (HOIST_BENCH_EXAMPLE, default go-nonroot).
//
//	go test -count=1 -run '^$' -bench ColdFirstStep -benchtime 3x ./test/e2e/
func BenchmarkColdFirstStep(b *testing.B) {
	e := bedFor(b)
	dir := benchExample(b, "go-nonroot")
	mounts, err := testbed.LocalDirs(dir, dir)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	c, err := e.Client(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	builds := []struct {
		name  string
		build gateway.BuildFunc
	}{{"hoist", frontend.Build}, {"stock", builder.Build}}
	firstRun := map[string][]time.Duration{}
	whole := map[string][]time.Duration{}
	for i := 0; i < b.N; i++ {
		for j := range builds {
			v := builds[(i+j)%len(builds)]
			if _, stderr, err := e.Buildctl(ctx, "", "prune", "--all"); err != nil {
				b.Fatalf("prune: %v\n%s", err, stderr)
			}
			ch := make(chan *client.SolveStatus)
			var first time.Time
			var names []string
			done := make(chan struct{})
			go func() {
				defer close(done)
				for st := range ch {
					for _, vx := range st.Vertexes {
						if vx.Started != nil && strings.Contains(vx.Name, "] RUN ") && (first.IsZero() || vx.Started.Before(first)) {
							first = *vx.Started
						}
						if vx.Started != nil && !slices.Contains(names, vx.Name) {
							names = append(names, vx.Name)
						}
					}
				}
			}()
			start := time.Now()
			_, err := c.Build(ctx, client.SolveOpt{
				LocalMounts:   mounts,
				FrontendAttrs: map[string]string{"filename": "Dockerfile"},
				Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: b.TempDir()}},
			}, "", v.build, ch)
			took := time.Since(start)
			<-done
			if err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			if first.IsZero() {
				b.Fatalf("%s: no RUN step started: %v", v.name, names)
			}
			firstRun[v.name] = append(firstRun[v.name], first.Sub(start))
			whole[v.name] = append(whole[v.name], took)
			b.Logf("round %d %s: first RUN after %v, build %v", i, v.name, first.Sub(start).Round(time.Millisecond), took.Round(time.Millisecond))
		}
	}
	for _, v := range builds {
		f, t := firstRun[v.name], whole[v.name]
		b.Logf("%s: first RUN median %v (%v–%v), whole build median %v (%v–%v)", v.name,
			median(f).Round(time.Millisecond), slices.Min(f).Round(time.Millisecond), slices.Max(f).Round(time.Millisecond),
			median(t).Round(time.Millisecond), slices.Min(t).Round(time.Millisecond), slices.Max(t).Round(time.Millisecond))
	}
	b.ReportMetric(float64(median(firstRun["hoist"]).Milliseconds()), "hoist-first-run-ms")
	b.ReportMetric(float64(median(firstRun["stock"]).Milliseconds()), "stock-first-run-ms")
}

// benchExample is the absolute directory of the example HOIST_BENCH_EXAMPLE
// names, else of def.
func benchExample(b *testing.B, def string) string {
	example := os.Getenv("HOIST_BENCH_EXAMPLE")
	if example == "" {
		example = def
	}
	dir, err := filepath.Abs(filepath.Join("../../examples", example))
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkColdFrontendImages builds an example from a cold builder through
// the hoist image and through BuildKit's own Dockerfile frontend as an image
// (built from go.mod's buildkit, as docker/dockerfile:1 is run), with buildx
// and rawjson progress. Before each build the builder is pruned and the base
// images and both frontend images are loaded again (testbed.ColdBuilder);
// the two builds of a round run in alternating order. It reports when the first build step started (what the
// frontend costs before any step can run), the whole build, and the per-round
// ratio of the whole builds.
//
//	go test -count=1 -run '^$' -bench ColdFrontendImages -benchtime 6x ./test/e2e/
//
// HOIST_BENCH_EXAMPLE picks the example (default node-npm).
func BenchmarkColdFrontendImages(b *testing.B) {
	e := bedFor(b)
	src := benchExample(b, "node-npm")
	bases, err := testbed.BaseImages(filepath.Join(src, "Dockerfile"))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	stock, err := e.StockFrontendImage(ctx)
	if err != nil {
		b.Fatal(err)
	}
	images := []struct{ name, ref string }{{"hoist", e.HoistImage}, {"stock image", stock}}
	first := map[string][]time.Duration{}
	whole := map[string][]time.Duration{}
	var ratios []float64
	var rounds []string
	for i := 0; i < b.N; i++ {
		took := map[string]time.Duration{}
		for j := range images {
			im := images[(i+j)%len(images)]
			work := b.TempDir()
			if err := e.ColdBuilder(ctx, work, bases, e.HoistImage, stock); err != nil {
				b.Fatal(err)
			}
			dir := filepath.Join(work, "src")
			if out, err := exec.Command("cp", "-a", src+"/.", dir).CombinedOutput(); err != nil {
				b.Fatalf("copy %s: %v\n%s", src, err, out)
			}
			start := time.Now()
			_, stderr, err := e.Buildx(ctx, dir, "build", "--progress=rawjson", "--build-arg", "BUILDKIT_SYNTAX="+im.ref,
				"--output", "type=local,dest="+filepath.Join(work, "out"), ".")
			t := time.Since(start)
			if err != nil {
				b.Fatalf("%s: %v\n%s", im.name, err, stderr)
			}
			f, err := firstStepStart(stderr)
			if err != nil {
				b.Fatalf("%s: %v", im.name, err)
			}
			first[im.name] = append(first[im.name], f.Sub(start))
			whole[im.name] = append(whole[im.name], t)
			took[im.name] = t
			rounds = append(rounds, fmt.Sprintf("round %d %s: first step after %v, build %v", i, im.name, f.Sub(start).Round(time.Millisecond), t.Round(time.Millisecond)))
		}
		ratios = append(ratios, took["hoist"].Seconds()/took["stock image"].Seconds())
	}
	// The summary first: go test truncates long benchmark logs.
	for _, im := range images {
		f, t := first[im.name], whole[im.name]
		b.Logf("%s: first step median %v (%v–%v), whole build median %v (%v–%v)", im.name,
			median(f).Round(time.Millisecond), slices.Min(f).Round(time.Millisecond), slices.Max(f).Round(time.Millisecond),
			median(t).Round(time.Millisecond), slices.Min(t).Round(time.Millisecond), slices.Max(t).Round(time.Millisecond))
	}
	b.Logf("hoist / stock image, whole build per round: %.2f", ratios)
	slices.Sort(ratios)
	b.Logf("median %.2f", ratios[len(ratios)/2])
	for _, r := range rounds {
		b.Log(r)
	}
	b.ReportMetric(float64(median(first["hoist"]).Milliseconds()), "hoist-first-step-ms")
	b.ReportMetric(float64(median(first["stock image"]).Milliseconds()), "stock-first-step-ms")
	b.ReportMetric(ratios[len(ratios)/2], "hoist/stock")
}

// firstStepStart reads buildx's rawjson progress and returns when the first
// Dockerfile step ("[stage n/m] ...", not "[internal]") started.
func firstStepStart(progress []byte) (time.Time, error) {
	var first time.Time
	for _, l := range strings.Split(string(progress), "\n") {
		var st client.SolveStatus
		if json.Unmarshal([]byte(l), &st) != nil {
			continue
		}
		for _, v := range st.Vertexes {
			if v.Started == nil || !strings.HasPrefix(v.Name, "[") || strings.HasPrefix(v.Name, "[internal]") {
				continue
			}
			if first.IsZero() || v.Started.Before(first) {
				first = *v.Started
			}
		}
	}
	if first.IsZero() {
		return first, fmt.Errorf("no build step in the progress")
	}
	return first, nil
}
