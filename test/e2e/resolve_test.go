package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hoistbuild/hoist/frontend"
	"github.com/hoistbuild/hoist/test/faultreg"
	"github.com/hoistbuild/hoist/test/testbed"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/solver/errdefs"
)

// bedFor returns the shared test bed of TestMain (main_test.go) for a
// benchmark, which needEnv cannot take.
func bedFor(b *testing.B) *testbed.Env {
	b.Helper()
	envOnce.Do(startEnv)
	switch {
	case startErr != nil:
		b.Fatalf("test bed setup failed: %v", startErr)
	case skipReason != "" && os.Getenv("CI") != "true":
		b.Skip(skipReason)
	case env == nil:
		b.Fatalf("no test bed: %s", skipReason)
	}
	return env
}

func startReg(tb testing.TB) *faultreg.Registry {
	tb.Helper()
	r, err := faultreg.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

var imagePlatform = "linux/" + runtime.GOARCH

// pushImage pushes an image whose /who says which registry holds it, with
// 4 KiB of incompressible data so that a slow body takes many chunks.
func pushImage(tb testing.TB, r *faultreg.Registry, repoTag, who string) string {
	tb.Helper()
	d, err := r.Push(context.Background(), repoTag, newImage(tb, who))
	if err != nil {
		tb.Fatal(err)
	}
	return d.String()
}

func newImage(tb testing.TB, who string) v1.Image {
	tb.Helper()
	noise := make([]byte, 4096)
	rand.Read(noise)
	img, err := faultreg.NewImage(imagePlatform, map[string]string{"who": who, "noise": string(noise)})
	if err != nil {
		tb.Fatal(err)
	}
	return img
}

type buildResult struct {
	warnings []string
	out      string // exported build result
	err      error
}

// who reads /who (or another file) of the exported result.
func (b buildResult) file(tb testing.TB, name string) string {
	tb.Helper()
	dt, err := os.ReadFile(filepath.Join(b.out, name))
	if err != nil {
		tb.Fatalf("result has no %s: %v (build error %v)", name, err, b.err)
	}
	return string(dt)
}

func (b buildResult) hoistWarnings() string {
	var out []string
	for _, w := range b.warnings {
		if strings.HasPrefix(w, "hoist: ") {
			out = append(out, w)
		}
	}
	return strings.Join(out, "\n")
}

// build runs hoist's frontend.Build in this process against the buildkitd
// on socket, exporting the result to a directory.
func hoistBuild(tb testing.TB, socket, dockerfile string, args map[string]string) buildResult {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		tb.Fatal(err)
	}
	out := filepath.Join(tb.TempDir(), "out")
	mounts, err := testbed.LocalDirs(dir, dir)
	if err != nil {
		tb.Fatal(err)
	}
	attrs := map[string]string{}
	for k, v := range args {
		attrs["build-arg:"+k] = v
	}
	c, err := client.New(ctx, "unix://"+socket)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	ch := make(chan *client.SolveStatus)
	res := buildResult{out: out}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for s := range ch {
			for _, w := range s.Warnings {
				res.warnings = append(res.warnings, string(w.Short))
			}
		}
	}()
	_, res.err = c.Build(ctx, client.SolveOpt{
		Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: out}},
		LocalMounts:   mounts,
		FrontendAttrs: attrs,
	}, "hoist-e2e", frontend.Build, ch)
	<-done
	return res
}

// TestResolve runs builds through a mirror and an origin registry that
// fail in every way the issue lists, on the real buildkitd.
func TestResolve(t *testing.T) {
	env := needEnv(t)
	origin, mirror := startReg(t), startReg(t)
	O, M := origin.Addr, mirror.Addr
	mirrors := O + "=" + M
	n := 0
	// pair pushes repo:1 to both registries with different content and
	// returns the FROM ref at the origin.
	pair := func() (ref, repo string) {
		n++
		repo = fmt.Sprintf("library/img%d", n)
		pushImage(t, origin, repo+":1", "origin")
		pushImage(t, mirror, repo+":1", "mirror")
		return O + "/" + repo + ":1", repo
	}
	df := func(ref string) string { return "FROM " + ref + "\n" }

	t.Run("mirror serves", func(t *testing.T) {
		ref, repo := pair()
		res := hoistBuild(t, env.Socket, df(ref), map[string]string{"HOIST_MIRRORS": mirrors})
		if res.err != nil {
			t.Fatal(res.err)
		}
		if got := res.file(t, "who"); got != "mirror" {
			t.Errorf("image from %s, want mirror", got)
		}
		if !mirror.Served(repo, faultreg.Blobs) || origin.Requested(repo) {
			t.Errorf("mirror served blobs %v, origin asked %v", mirror.Served(repo, faultreg.Blobs), origin.Requested(repo))
		}
		if w := res.hoistWarnings(); !strings.Contains(w, "hoist: "+ref+" from "+M+" (sha256:") || strings.Contains(w, "after") {
			t.Errorf("report: %q", w)
		}
	})

	t.Run("unconfigured: stock path", func(t *testing.T) {
		ref, repo := pair()
		res := hoistBuild(t, env.Socket, df(ref), nil)
		if res.err != nil {
			t.Fatal(res.err)
		}
		if got := res.file(t, "who"); got != "origin" || mirror.Requested(repo) {
			t.Errorf("image from %s, mirror asked %v", got, mirror.Requested(repo))
		}
		if w := res.hoistWarnings(); w != "" {
			t.Errorf("unexpected report %q", w)
		}
	})

	// Each mirror fault falls back to the origin.
	for _, tc := range []struct {
		name   string
		rule   faultreg.Rule
		args   map[string]string
		reason string
	}{
		{"404", faultreg.Rule{Fault: faultreg.NotFound}, nil, "not found"},
		{"403", faultreg.Rule{Fault: faultreg.Forbidden}, nil, "403 Forbidden"},
		{"429", faultreg.Rule{Fault: faultreg.TooMany}, nil, "429 Too Many Requests"},
		{"503", faultreg.Rule{Fault: faultreg.Unavailable}, nil, "503 Service Unavailable (after a retry)"},
		{"close", faultreg.Rule{Fault: faultreg.Close}, nil, "connection closed (after a retry)"},
		{"reset", faultreg.Rule{Fault: faultreg.Reset}, nil, "connection reset (after a retry)"},
		{"hang", faultreg.Rule{Fault: faultreg.Hang}, map[string]string{"HOIST_RESOLVE_TIMEOUT": "2s"}, "no answer within 2s"},
		{"slow body", faultreg.Rule{Kind: faultreg.Blobs, Fault: faultreg.SlowBody, Delay: time.Second},
			map[string]string{"HOIST_PULL_TIMEOUT": "3s"}, "pull: no answer within 3s"},
	} {
		t.Run("mirror "+tc.name, func(t *testing.T) {
			ref, repo := pair()
			rule := tc.rule
			rule.Repo = repo
			mirror.AddRule(rule)
			args := map[string]string{"HOIST_MIRRORS": mirrors}
			for k, v := range tc.args {
				args[k] = v
			}
			res := hoistBuild(t, env.Socket, df(ref), args)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if got := res.file(t, "who"); got != "origin" {
				t.Errorf("image from %s, want origin", got)
			}
			if !origin.Served(repo, faultreg.Blobs) {
				t.Errorf("origin served no blobs: %+v", origin.Log())
			}
			want := "hoist: " + ref + " from " + O + " (sha256:"
			w := res.hoistWarnings()
			if !strings.Contains(w, want) || !strings.Contains(w, "after "+M+": "+tc.reason) {
				t.Errorf("report %q, want %q ... after %s: %s", w, want, M, tc.reason)
			}
		})
	}

	// The same image on both, the mirror's blobs trickling: the origin's
	// pull of the same blobs must not wait for the abandoned one. BuildKit
	// keys an image source by digest and platform, not registry, and
	// merges equal keys for the whole build, so without hoist's
	// per-candidate probe platform the origin's pull was folded into the
	// abandoned mirror pull and asked the mirror again.
	t.Run("slow mirror with the same image", func(t *testing.T) {
		n++
		repo := fmt.Sprintf("library/same%d", n)
		img := newImage(t, "same")
		for _, r := range []*faultreg.Registry{origin, mirror} {
			if _, err := r.Push(context.Background(), repo+":1", img); err != nil {
				t.Fatal(err)
			}
		}
		mirror.AddRule(faultreg.Rule{Repo: repo, Kind: faultreg.Blobs, Fault: faultreg.SlowBody, Delay: time.Second})
		ref := O + "/" + repo + ":1"
		res := hoistBuild(t, env.Socket, df(ref), map[string]string{"HOIST_MIRRORS": mirrors, "HOIST_PULL_TIMEOUT": "3s", "HOIST_RESOLVE_TIMEOUT": "20s"})
		if res.err != nil {
			t.Fatalf("%v\nmirror log: %+v\norigin log: %+v", res.err, mirror.Log(), origin.Log())
		}
		if got := res.file(t, "who"); got != "same" || !origin.Served(repo, faultreg.Blobs) {
			t.Errorf("image %s, origin served blobs %v", got, origin.Served(repo, faultreg.Blobs))
		}
		if w := res.hoistWarnings(); !strings.Contains(w, "from "+O+" (") || !strings.Contains(w, "after "+M+": pull: no answer within 3s") {
			t.Errorf("report %q", w)
		}
	})

	t.Run("mirror refused", func(t *testing.T) {
		closed, err := faultreg.ClosedAddr()
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := pair()
		res := hoistBuild(t, env.Socket, df(ref), map[string]string{"HOIST_MIRRORS": O + "=" + closed})
		if res.err != nil {
			t.Fatal(res.err)
		}
		if got := res.file(t, "who"); got != "origin" {
			t.Errorf("image from %s", got)
		}
		if w := res.hoistWarnings(); !strings.Contains(w, "after "+closed+": connection refused") {
			t.Errorf("report %q", w)
		}
	})

	t.Run("partial mirror and pinned digests", func(t *testing.T) {
		ref1, repo1 := pair()
		// Only the origin has tool:1.
		n++
		repo2 := fmt.Sprintf("library/tool%d", n)
		pushImage(t, origin, repo2+":1", "origin-tool")
		// A digest pin the mirror answers with other content.
		_, repo3 := pair()
		d3 := pushImage(t, origin, repo3+":pinned", "origin-pinned")
		// The mirror has repo3:1 with other content, not d3.
		pinned := O + "/" + repo3 + "@" + d3
		dockerfile := "FROM " + ref1 + "\n" +
			"COPY --from=" + O + "/" + repo2 + ":1 /who /tool\n" +
			"COPY --from=" + pinned + " /who /pinned\n"
		res := hoistBuild(t, env.Socket, dockerfile, map[string]string{"HOIST_MIRRORS": mirrors})
		if res.err != nil {
			t.Fatal(res.err)
		}
		if a, b, c := res.file(t, "who"), res.file(t, "tool"), res.file(t, "pinned"); a != "mirror" || b != "origin-tool" || c != "origin-pinned" {
			t.Errorf("got who=%s tool=%s pinned=%s", a, b, c)
		}
		if !mirror.Served(repo1, faultreg.Blobs) || origin.Requested(repo1) {
			t.Errorf("img from mirror: mirror served %v, origin asked %v", mirror.Served(repo1, faultreg.Blobs), origin.Requested(repo1))
		}
		w := res.hoistWarnings()
		for _, want := range []string{
			"hoist: " + ref1 + " from " + M + " (",
			"hoist: " + O + "/" + repo2 + ":1 from " + O + " (",
			"after " + M + ": not found",
			"hoist: " + pinned + " from " + O + " (",
		} {
			if !strings.Contains(w, want) {
				t.Errorf("report %q lacks %q", w, want)
			}
		}
		if !strings.Contains(w, "@"+d3+" from "+O+" (sha256:") || strings.Count(w, "after "+M+": not found") != 2 {
			t.Errorf("pinned digest: the mirror's other content must be skipped with a reason: %q", w)
		}
		t.Logf("report:\n%s", w)
	})

	// A mirror with a stale tag: for a tag, what the mirror answers is
	// used, and its digest reported.
	t.Run("mirror with another digest for a tag", func(t *testing.T) {
		ref, repo := pair()
		n++
		stale := fmt.Sprintf("library/stale%d", n)
		d := pushImage(t, mirror, stale+":1", "mirror-stale")
		mirror.AddRule(faultreg.Rule{Repo: repo, Kind: faultreg.Manifests, Fault: faultreg.WrongDigest, Other: stale + ":1"})
		res := hoistBuild(t, env.Socket, df(ref), map[string]string{"HOIST_MIRRORS": mirrors})
		if res.err != nil {
			t.Fatal(res.err)
		}
		if got := res.file(t, "who"); got != "mirror-stale" {
			t.Errorf("image from %s", got)
		}
		if w := res.hoistWarnings(); !strings.Contains(w, "from "+M+" ("+d[:19]+",") {
			t.Errorf("report %q lacks the mirror's digest %s", w, d)
		}
	})

	// A mirror answering a digest request with other content must never
	// end up in the build.
	t.Run("mirror with another digest for a pinned digest", func(t *testing.T) {
		_, repo := pair()
		d := pushImage(t, origin, repo+":pinned", "origin-pinned")
		mirror.AddRule(faultreg.Rule{Repo: repo, Kind: faultreg.Manifests, Fault: faultreg.WrongDigest, Other: repo + ":1"})
		ref := O + "/" + repo + "@" + d
		res := hoistBuild(t, env.Socket, df(ref), map[string]string{"HOIST_MIRRORS": mirrors})
		if res.err != nil {
			t.Logf("build failed: %v", res.err)
			if !strings.Contains(res.err.Error(), "hoist: no registry served "+ref) {
				t.Errorf("unclear error: %v", res.err)
			}
			return
		}
		if got := res.file(t, "who"); got != "origin-pinned" {
			t.Errorf("image from %s", got)
		}
		t.Logf("report: %s", res.hoistWarnings())
	})

	t.Run("origin broken too", func(t *testing.T) {
		ref, repo := pair()
		mirror.AddRule(faultreg.Rule{Repo: repo, Fault: faultreg.NotFound})
		origin.AddRule(faultreg.Rule{Repo: repo, Fault: faultreg.Unavailable})
		res := hoistBuild(t, env.Socket, "# comment\n"+df(ref), map[string]string{"HOIST_MIRRORS": mirrors})
		if res.err == nil {
			t.Fatal("build succeeded")
		}
		msg := res.err.Error()
		for _, want := range []string{
			"hoist: no registry served " + ref,
			M + "/" + repo + ":1: not found",
			O + "/" + repo + ":1: 503 Service Unavailable (after a retry)",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		srcs := errdefs.Sources(res.err)
		if len(srcs) == 0 || len(srcs[0].Ranges) == 0 || srcs[0].Ranges[0].Start.Line != 2 {
			t.Errorf("error does not point at the FROM line: %+v", srcs)
		}
	})

	t.Run("docker buildx build", func(t *testing.T) {
		ref, repo := pair()
		mirror.AddRule(faultreg.Rule{Repo: repo, Fault: faultreg.Unavailable})
		dir := t.TempDir()
		out := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("# syntax="+env.HoistImage+"\n"+df(ref)), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		_, stderr, err := env.Buildx(ctx, dir, "build", "--build-arg", "HOIST_MIRRORS="+mirrors, "--output", "type=local,dest="+out, ".")
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if dt, _ := os.ReadFile(filepath.Join(out, "who")); string(dt) != "origin" {
			t.Errorf("image from %q", dt)
		}
		if want := "hoist: " + ref + " from " + O + " (sha256:"; !strings.Contains(string(stderr), want) ||
			!strings.Contains(string(stderr), "after "+M+": 503 Service Unavailable") {
			t.Errorf("buildx output lacks %q:\n%s", want, stderr)
		}
	})

	// A buildkitd whose own configuration sends the origin to a mirror
	// that accepts connections and never answers: stock resolution hangs
	// on it. hoist's candidates on other hosts bypass it, and when the
	// origin is the only way left, hoist gives up after its deadline.
	t.Run("daemon with a hanging mirror", func(t *testing.T) {
		hang := startReg(t)
		hang.AddRule(faultreg.Rule{Fault: faultreg.Hang})
		sock := startDaemon(t, env, fmt.Sprintf("[registry.%q]\n  mirrors = [%q]\n", O, hang.Addr))

		ref, repo := pair()
		res := hoistBuild(t, sock, df(ref), map[string]string{"HOIST_MIRRORS": mirrors, "HOIST_RESOLVE_TIMEOUT": "2s"})
		if res.err != nil {
			t.Fatal(res.err)
		}
		if got := res.file(t, "who"); got != "mirror" || origin.Requested(repo) {
			t.Errorf("image from %s, origin asked %v", got, origin.Requested(repo))
		}

		ref, repo = pair()
		mirror.AddRule(faultreg.Rule{Repo: repo, Fault: faultreg.NotFound})
		res = hoistBuild(t, sock, df(ref), map[string]string{"HOIST_MIRRORS": mirrors, "HOIST_RESOLVE_TIMEOUT": "2s"})
		if res.err == nil {
			t.Fatal("build through the hanging daemon mirror succeeded")
		}
		if !strings.Contains(res.err.Error(), O+"/"+repo+":1: no answer within 2s") || !hang.Requested(repo) {
			t.Errorf("error %v; hanging mirror asked %v", res.err, hang.Requested(repo))
		}
		t.Logf("error: %v", res.err)
	})
}

// startDaemon starts a second buildkitd with extra configuration, in the
// test bed's directory so that its Close unmounts what is left.
func startDaemon(tb testing.TB, env *testbed.Env, extra string) string {
	tb.Helper()
	dir, err := os.MkdirTemp(env.Dir, "buildkitd2-")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := filepath.Join(dir, "buildkitd.toml")
	conf := "[worker.oci]\n  enabled = true\n  snapshotter = \"overlayfs\"\n  gc = false\n[worker.containerd]\n  enabled = false\n\n" + extra
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	logf, err := os.Create(filepath.Join(dir, "buildkitd.log"))
	if err != nil {
		tb.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(env.Bins.Buildkitd, "--config", cfg, "--root", filepath.Join(dir, "root"),
		"--addr", "unix://"+sock, "--oci-worker-net", "host", "--oci-worker-binary", env.Bins.Runc)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(env.Bins.Runc)+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		c, err := client.New(ctx, "unix://"+sock)
		if err == nil {
			_, err = c.Info(ctx)
			c.Close()
		}
		cancel()
		if err == nil {
			return sock
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "buildkitd.log"))
			tb.Fatalf("buildkitd exited: %v\n%s", err, log)
		case <-time.After(200 * time.Millisecond):
		}
		if i > 300 {
			tb.Fatalf("buildkitd did not answer: %v", err)
		}
	}
}

// BenchmarkResolveLatency builds Dockerfiles of 1 and of 10 images from a
// registry that answers every request after 1 s: through hoist (the slow
// registry as a mirror) and, for comparison, stock (FROM the slow
// registry). One image costs several round trips (token ping, HEAD,
// manifest, config, then the pull's blobs), so a build takes seconds
// either way; what parallel resolution shows is the ratio: 10 images cost
// about what 1 does (ten-vs-one near 1), not 10 times as much. buildkitd
// fetches from one registry at most 4 at a time by default
// ([system] maxRegistryConcurrency), for hoist's pulls as for stock's, so
// the benchmark runs against the default daemon and one allowing 16.
func BenchmarkResolveLatency(b *testing.B) {
	env := bedFor(b)
	origin, slow := startReg(b), startReg(b)
	slow.AddRule(faultreg.Rule{Fault: faultreg.Latency, Delay: time.Second})
	daemons := []struct{ name, socket string }{
		{"default-daemon", env.Socket},
		{"registry-concurrency-16", startDaemon(b, env, "[system]\n  maxRegistryConcurrency = 16\n")},
	}
	iter := 0
	build := func(b *testing.B, socket, mode string, images int) time.Duration {
		iter++
		host, args := origin.Addr, map[string]string{"HOIST_MIRRORS": origin.Addr + "=" + slow.Addr, "HOIST_RESOLVE_TIMEOUT": "30s"}
		if mode == "stock" {
			host, args = slow.Addr, nil
		}
		var df strings.Builder
		for j := range images {
			repo := fmt.Sprintf("library/bench%d-%d:1", iter, j)
			pushImage(b, slow, repo, "slow")
			fmt.Fprintf(&df, "FROM %s/%s AS s%d\n", host, repo, j)
		}
		df.WriteString("FROM scratch\n")
		for j := range images {
			fmt.Fprintf(&df, "COPY --from=s%d /who /who%d\n", j, j)
		}
		start := time.Now()
		res := hoistBuild(b, socket, df.String(), args)
		took := time.Since(start)
		if res.err != nil {
			b.Fatal(res.err)
		}
		for j := range images {
			if got := res.file(b, fmt.Sprintf("who%d", j)); got != "slow" {
				b.Fatalf("who%d = %q, want the image pushed to the slow registry", j, got)
			}
		}
		if mode == "hoist" && images == 10 && iter <= 2 {
			b.Logf("%s", res.hoistWarnings())
		}
		return took
	}
	for _, d := range daemons {
		for _, mode := range []string{"hoist", "stock"} {
			b.Run(d.name+"/"+mode, func(b *testing.B) {
				var one, ten time.Duration
				for i := 0; i < b.N; i++ {
					// Fresh repositories each time: nothing is cached.
					one += build(b, d.socket, mode, 1)
					ten += build(b, d.socket, mode, 10)
				}
				n := float64(b.N)
				b.ReportMetric(one.Seconds()/n, "s/1-image")
				b.ReportMetric(ten.Seconds()/n, "s/10-images")
				b.ReportMetric(ten.Seconds()/one.Seconds(), "ten-vs-one")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
