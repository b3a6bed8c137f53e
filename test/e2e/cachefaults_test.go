package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/test/faultreg"
)

// cacheDockerfile gets hoist's module cache mount on its build stage, so
// HOIST_CACHE_FROM seeds it.
const cacheDockerfile = `FROM golang:1.26 AS build
WORKDIR /src
RUN go mod init example.com/x && go mod download
FROM scratch
COPY --from=build /src/go.mod /
`

// pushCacheImage pushes a small cache image (as --target hoist-cache
// makes: one directory per cache id and the label listing them) and
// returns the digests of its manifest, config and layer.
func pushCacheImage(tb testing.TB, r *faultreg.Registry, repoTag string) (manifest, config, layer string) {
	tb.Helper()
	img, err := faultreg.NewImage(imagePlatform, map[string]string{"hoist-go-mod/seeded": repoTag})
	if err != nil {
		tb.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		tb.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Labels = map[string]string{llbgen.CacheIDsLabel: "hoist-go-mod"}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		tb.Fatal(err)
	}
	d, err := r.Push(context.Background(), repoTag, img)
	if err != nil {
		tb.Fatal(err)
	}
	return d.String(), digestOf(tb, img.ConfigName), digestOf(tb, func() (v1.Hash, error) {
		ls, err := img.Layers()
		if err != nil {
			return v1.Hash{}, err
		}
		return ls[0].Digest()
	})
}

func digestOf(tb testing.TB, f func() (v1.Hash, error)) string {
	tb.Helper()
	h, err := f()
	if err != nil {
		tb.Fatal(err)
	}
	return h.String()
}

// TestCacheFromFaults: a HOIST_CACHE_FROM image that cannot be had, in
// each way a registry fails, never fails or hangs the build. It builds
// unseeded after the resolve or pull deadline at most, with one warning
// saying why. Where the config arrives and the layers do not, the build
// must not reach the solve with the image on its cache mounts.
func TestCacheFromFaults(t *testing.T) {
	env := needEnv(t)
	reg := startReg(t)
	mute := startReg(t) // accepts connections, never answers
	mute.AddRule(faultreg.Rule{Fault: faultreg.Hang})
	closed, err := faultreg.ClosedAddr()
	if err != nil {
		t.Fatal(err)
	}
	const resolveTimeout, pullTimeout = "2s", "3s"
	n := 0
	for _, tc := range []struct {
		name string
		host string // registry address; reg's if ""
		// rule is applied to the cache image's repository; blob is
		// "layer" or "config" to aim it at that blob.
		rule   faultreg.Rule
		blob   string
		reason string // "" means seeded
	}{
		{name: "served", reason: ""},
		{name: "refused", host: closed, reason: "connection refused"},
		{name: "404", rule: faultreg.Rule{Fault: faultreg.NotFound}, reason: "not found"},
		{name: "401", rule: faultreg.Rule{Fault: faultreg.Unauthorized}, reason: "401 Unauthorized"},
		{name: "403", rule: faultreg.Rule{Fault: faultreg.Forbidden}, reason: "403 Forbidden"},
		{name: "503", rule: faultreg.Rule{Fault: faultreg.Unavailable}, reason: "503 Service Unavailable (after a retry)"},
		{name: "reset", rule: faultreg.Rule{Fault: faultreg.Reset}, reason: "connection reset (after a retry)"},
		{name: "never answers", host: mute.Addr, reason: "no answer within " + resolveTimeout},
		{name: "v2 answered, manifest hangs", rule: faultreg.Rule{Kind: faultreg.Manifests, Fault: faultreg.Hang}, reason: "no answer within " + resolveTimeout},
		// A blob cut short is fetched again until the deadline (the
		// number of faulted requests is logged).
		{name: "config truncated", rule: faultreg.Rule{Kind: faultreg.Blobs, Fault: faultreg.Truncate}, blob: "config", reason: "no answer within " + resolveTimeout},
		{name: "layer hangs", rule: faultreg.Rule{Kind: faultreg.Blobs, Fault: faultreg.Hang}, blob: "layer", reason: "pull: no answer within " + pullTimeout},
		{name: "layer truncated", rule: faultreg.Rule{Kind: faultreg.Blobs, Fault: faultreg.Truncate}, blob: "layer", reason: "pull: no answer within " + pullTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n++
			repo := fmt.Sprintf("ci/cache%d", n)
			_, config, layer := pushCacheImage(t, reg, repo+":latest")
			host := reg.Addr
			if tc.host != "" {
				host = tc.host
			}
			if tc.rule.Fault != faultreg.None {
				rule := tc.rule
				rule.Repo = repo
				switch tc.blob {
				case "config":
					rule.Ref = config
				case "layer":
					rule.Ref = layer
				}
				reg.AddRule(rule)
			}
			ref := host + "/" + repo
			start := time.Now()
			res := hoistBuild(t, env.Socket, cacheDockerfile, map[string]string{
				"HOIST_CACHE_FROM":      ref,
				"HOIST_RESOLVE_TIMEOUT": resolveTimeout,
				"HOIST_PULL_TIMEOUT":    pullTimeout,
			})
			took := time.Since(start)
			if res.err != nil {
				t.Fatalf("build failed after %s: %v\nwarnings:\n%s", took, res.err, res.hoistWarnings())
			}
			if got := res.file(t, "go.mod"); !strings.Contains(got, "module example.com/x") {
				t.Errorf("result go.mod %q", got)
			}
			w := res.hoistWarnings()
			prefix := "hoist: HOIST_CACHE_FROM=" + ref + " not used, building without seeded caches: "
			if tc.reason == "" {
				if strings.Contains(w, "not used") || !strings.Contains(w, "seeded from "+ref+":latest@sha256:") {
					t.Errorf("not seeded:\n%s", w)
				}
				if !reg.Served(repo, faultreg.Blobs) {
					t.Errorf("the cache image's blobs were not fetched: %+v", reg.Log())
				}
			} else {
				if c := strings.Count(w, prefix); c != 1 || !strings.Contains(w, prefix+tc.reason) {
					t.Errorf("want one warning %q, got:\n%s", prefix+tc.reason, w)
				}
				if strings.Contains(w, "seeded from") {
					t.Errorf("seeded from an image that could not be had:\n%s", w)
				}
			}
			faulted := 0
			for _, q := range reg.Log() {
				if q.Repo == repo && q.Fault != faultreg.None {
					faulted++
				}
			}
			t.Logf("%s in %.1f s, %d faulted requests: %s", tc.name, took.Seconds(), faulted, firstLine(w, "HOIST_CACHE_FROM"))
		})
	}
}

func firstLine(s, substr string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	return ""
}

// TestRegistryCredentials: hoist's own fetches (a mirror of
// HOIST_MIRRORS, the HOIST_CACHE_FROM image) use the client's docker
// login through the session, as BuildKit's FROM does; without a login the
// mirror is passed over, and the cache image left out, with the 401 as
// the reason.
func TestRegistryCredentials(t *testing.T) {
	e := needEnv(t)
	origin, private := startReg(t), startReg(t)
	private.RequireBasicAuth("hoist", "s3cret")
	O, P := origin.Addr, private.Addr
	pushImage(t, origin, "library/app:1", "origin")
	pushImage(t, private, "library/app:1", "mirror")
	pushCacheImage(t, private, "ci/cache:latest")
	from := O + "/library/app:1"
	cacheRef := P + "/ci/cache"

	// A DOCKER_CONFIG of the test's own (the builder's state copied), so
	// that the login stays here.
	cfgDir := t.TempDir()
	if out, err := runCmd(exec.Command("cp", "-a", e.DockerConfig+"/.", cfgDir)); err != nil {
		t.Fatalf("copy DOCKER_CONFIG: %v\n%s", err, out)
	}
	docker := func(dir, stdin string, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := e.Command(ctx, dir, "docker", args...)
		cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+cfgDir)
		cmd.Stdin = strings.NewReader(stdin)
		return runCmd(cmd)
	}
	build := func(t *testing.T, df string, args ...string) (string, string) {
		t.Helper()
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		all := []string{"buildx", "build", "--progress=plain", "--build-arg", "BUILDKIT_SYNTAX=" + e.HoistImage,
			"--output", "type=local,dest=" + out}
		for _, a := range args {
			all = append(all, "--build-arg", a)
		}
		log, err := docker(dir, "", append(all, ".")...)
		if err != nil {
			t.Fatalf("build: %v\n%s", err, tail(log))
		}
		return log, out
	}
	who := func(t *testing.T, out string) string {
		dt, err := os.ReadFile(filepath.Join(out, "who"))
		if err != nil {
			t.Fatal(err)
		}
		return string(dt)
	}
	mirrors := "HOIST_MIRRORS=" + O + "=" + P
	cacheArgs := []string{"HOIST_CACHE_FROM=" + cacheRef, "HOIST_RESOLVE_TIMEOUT=10s", "HOIST_PULL_TIMEOUT=30s"}

	t.Run("no login", func(t *testing.T) {
		log, out := build(t, "FROM "+from+"\n", mirrors)
		if got := who(t, out); got != "origin" {
			t.Errorf("image from %s, want the origin", got)
		}
		if want := "hoist: " + from + " from " + O + " (sha256:"; !strings.Contains(log, want) || !strings.Contains(log, "after "+P+": 401 Unauthorized") {
			t.Errorf("report lacks %q after %s: 401 Unauthorized:\n%s", want, P, tail(log))
		}
		log, _ = build(t, cacheDockerfile, cacheArgs...)
		if want := "hoist: HOIST_CACHE_FROM=" + cacheRef + " not used, building without seeded caches: 401 Unauthorized"; !strings.Contains(log, want) {
			t.Errorf("no warning %q:\n%s", want, tail(log))
		}
	})

	t.Run("login", func(t *testing.T) {
		if out, err := docker("", "s3cret", "login", P, "--username", "hoist", "--password-stdin"); err != nil {
			t.Fatalf("docker login: %v\n%s", err, out)
		}
		private.ResetLog()
		log, out := build(t, "FROM "+from+"\n", mirrors)
		if got := who(t, out); got != "mirror" {
			t.Errorf("image from %s, want the mirror", got)
		}
		if want := "hoist: " + from + " from " + P + " (sha256:"; !strings.Contains(log, want) || strings.Contains(log, "after "+P) {
			t.Errorf("report lacks %q:\n%s", want, tail(log))
		}
		if !private.Served("library/app", faultreg.Blobs) {
			t.Errorf("the mirror served no blobs: %+v", private.Log())
		}
		log, _ = build(t, cacheDockerfile, cacheArgs...)
		if strings.Contains(log, "not used") || !strings.Contains(log, "seeded from "+cacheRef+":latest@sha256:") {
			t.Errorf("not seeded:\n%s", tail(log))
		}
		if !private.Served("ci/cache", faultreg.Blobs) {
			t.Errorf("the cache image's blobs were not fetched: %+v", private.Log())
		}
	})
}

// runCmd runs cmd and returns its output, stdout and stderr together.
func runCmd(cmd *exec.Cmd) (string, error) {
	out, err := cmd.CombinedOutput()
	return string(out), err
}
