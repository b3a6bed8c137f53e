package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hoistbuild/hoist/frontend"
	"github.com/hoistbuild/hoist/test/testbed"
	"github.com/moby/buildkit/client"
)

// compatCases are Dockerfiles under testdata that hoist must build exactly
// like the stock frontend, with the extra build args each needs.
var compatCases = []struct {
	name string
	args func(t *testing.T) []string
}{
	{name: "multistage", args: func(*testing.T) []string { return []string{"--build-arg", "TAG=latest", "--build-arg", "MSG=hi"} }},
	{name: "heredoc"},
	{name: "copy"},
	{name: "mounts", args: func(t *testing.T) []string {
		secret := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(secret, []byte("s3cret-value"), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"--secret", "id=token,src=" + secret, "--ssh", "default=" + sshKey(t)}
	}},
}

// TestCompatFilesystem builds each case with the stock frontend and with
// hoist enabled by "# syntax=", both with --no-cache so hoist's steps really
// run, and compares the exported filesystems path by path: mode, owner,
// symlink target and content (not mtimes).
func TestCompatFilesystem(t *testing.T) {
	needEnv(t)
	for _, tc := range compatCases {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.args != nil {
				args = tc.args(t)
			}
			stockDir, hoistDir := t.TempDir(), t.TempDir()
			mustBuild(t, stock, tc.name, append([]string{"--no-cache", "--output", "type=local,dest=" + stockDir}, args...)...)
			mustBuild(t, hoistDirective, tc.name, append([]string{"--no-cache", "--output", "type=local,dest=" + hoistDir}, args...)...)
			want, got := snapshot(t, stockDir), snapshot(t, hoistDir)
			if len(want) == 0 {
				t.Fatal("stock build exported nothing")
			}
			if d := diffSnapshots(want, got); d != "" {
				t.Fatalf("exported filesystems differ:\n%s", d)
			}
		})
	}
}

// TestCompatImage builds each case as an OCI image with SOURCE_DATE_EPOCH=0
// and rewrite-timestamp=true (so timestamps in the config and in layers do
// not depend on when the build ran), with --no-cache, and requires the
// same manifest digest from stock and hoist: same config (history, env,
// labels, ...) and same layers.
func TestCompatImage(t *testing.T) {
	needEnv(t)
	for _, tc := range compatCases {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.args != nil {
				args = tc.args(t)
			}
			dir := t.TempDir()
			oci := func(kind frontendKind, file string) ociImage {
				mustBuild(t, kind, tc.name, append([]string{"--no-cache", "--build-arg", "SOURCE_DATE_EPOCH=0",
					"--output", "type=oci,rewrite-timestamp=true,dest=" + file}, args...)...)
				return readOCI(t, file)
			}
			want := oci(stock, filepath.Join(dir, "stock.tar"))
			got := oci(hoistDirective, filepath.Join(dir, "hoist.tar"))
			if want.ManifestDigest != got.ManifestDigest {
				t.Fatalf("manifest digests differ: stock %s, hoist %s\nstock config: %s\nhoist config: %s\nstock manifest: %s\nhoist manifest: %s",
					want.ManifestDigest, got.ManifestDigest, want.Config, got.Config, want.Manifest, got.Manifest)
			}
		})
	}
}

// TestSubrequests compares --call=outline|targets|check in JSON through
// hoist (BUILDKIT_SYNTAX, same Dockerfile bytes) with stock.
func TestSubrequests(t *testing.T) {
	needEnv(t)
	for _, tc := range []struct{ call, name string }{
		{"outline", "outline"},
		{"outline", "multistage"},
		{"targets", "outline"},
		{"targets", "multistage"},
		{"check", "checks"},
		{"check", "multistage"},
	} {
		t.Run(tc.call+"/"+tc.name, func(t *testing.T) {
			arg := "--call=" + tc.call + ",format=json"
			want := buildx(t, stock, tc.name, arg)
			got := buildx(t, hoistArg, tc.name, arg)
			if (want.err == nil) != (got.err == nil) {
				t.Fatalf("stock error %v, hoist error %v\nstock:\n%s\nhoist:\n%s", want.err, got.err, tail(want.stderr), tail(got.stderr))
			}
			if !json.Valid([]byte(want.stdout)) || strings.TrimSpace(want.stdout) == "" {
				t.Fatalf("stock --call=%s printed no JSON: %q\n%s", tc.call, want.stdout, tail(want.stderr))
			}
			w, g := normalizeCall(t, want.stdout), normalizeCall(t, got.stdout)
			if w != g {
				t.Fatalf("--call=%s output differs:\n%s", tc.call, lineDiff(w, g))
			}
		})
	}
}

// normalizeCall re-indents a --call JSON result without the "definition"
// of sources: that LLB names the build's client session, which differs from
// one build to the next whatever the frontend.
func normalizeCall(t *testing.T, out string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "definition")
			for _, x := range v {
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(v)
	dt, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(dt)
}

// lineDiff shows the lines where two texts differ, with their numbers.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var x, y string
		if i < len(w) {
			x = w[i]
		}
		if i < len(g) {
			y = g[i]
		}
		if x != y && shown < 30 {
			fmt.Fprintf(&b, "line %d:\n  stock: %s\n  hoist: %s\n", i+1, x, y)
			shown++
		}
	}
	return b.String()
}

// TestErrors requires the same error report (message, Dockerfile line and
// source excerpt) from hoist as from stock for broken Dockerfiles.
func TestErrors(t *testing.T) {
	needEnv(t)
	for _, name := range []string{"unknown-instruction", "syntax", "run-fails", "bad-flag"} {
		t.Run(name, func(t *testing.T) {
			want := buildx(t, stock, "errors/"+name)
			got := buildx(t, hoistArg, "errors/"+name)
			if want.err == nil || got.err == nil {
				t.Fatalf("want both builds to fail: stock %v, hoist %v", want.err, got.err)
			}
			w, g := errorReport(want.stderr), errorReport(got.stderr)
			if w == "" {
				t.Fatalf("no error report in stock output:\n%s", tail(want.stderr))
			}
			if w != g {
				t.Fatalf("error reports differ\nstock:\n%s\n\nhoist:\n%s", w, g)
			}
		})
	}
}

// TestBake builds the repo's docker-bake.hcl targets through hoist: the
// frontend image itself and the examples group.
func TestBake(t *testing.T) {
	e := needEnv(t)
	if _, err := os.Stat(filepath.Join(e.Repo, "examples/go-app/Dockerfile")); err != nil {
		t.Fatalf("examples/go-app is part of the bake file: %v", err)
	}
	frontendOut, appOut := t.TempDir(), t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := e.Command(ctx, e.Repo, "docker", "buildx", "bake", "--progress=plain", "-f", "docker-bake.hcl",
		"--set", "*.args.BUILDKIT_SYNTAX="+e.HoistImage,
		"--set", "frontend.output=type=local,dest="+frontendOut,
		"--set", "go-app.output=type=local,dest="+appOut,
		"frontend", "examples")
	cmd.Env = append(cmd.Env, "VERSION=e2e-bake")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bake: %v\n%s", err, tail(string(out)))
	}
	if !strings.Contains(string(out), "resolve image config for docker-image://"+e.HoistImage) {
		t.Fatalf("bake did not go through hoist:\n%s", tail(string(out)))
	}
	v, err := exec.Command(filepath.Join(frontendOut, "bin/hoist-frontend"), "-version").Output()
	if err != nil {
		t.Fatalf("running the baked frontend binary: %v", err)
	}
	if !strings.Contains(string(v), " e2e-bake ") {
		t.Fatalf("baked frontend reports %q, want version e2e-bake from the bake variable", v)
	}
	st, err := os.Stat(filepath.Join(appOut, "app"))
	if err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("examples/go-app: no executable /app in the output (%v)", err)
	}
}

// TestFrontendImage checks the labels BuildKit reads from the frontend image.
func TestFrontendImage(t *testing.T) {
	e := needEnv(t)
	ref, err := name.ParseReference(e.HoistImage, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	labels := cf.Config.Labels
	if got, want := labels["moby.buildkit.frontend.caps"], strings.Join(frontend.Caps, ","); got != want {
		t.Errorf("caps label %q, want frontend.Caps %q", got, want)
	}
	if labels["moby.buildkit.frontend.network.none"] != "true" {
		t.Errorf("network.none label %q, want true", labels["moby.buildkit.frontend.network.none"])
	}
	if labels["org.opencontainers.image.revision"] == "" || labels["org.opencontainers.image.version"] == "" {
		t.Errorf("version labels missing: %v", labels)
	}
	if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/bin/hoist-frontend" {
		t.Errorf("entrypoint %q", cf.Config.Entrypoint)
	}
}

// TestInProcess runs hoist's frontend.Build in this process against the real
// buildkitd (the fast path for feature tests) and compares the result with
// the stock frontend's through buildx.
func TestInProcess(t *testing.T) {
	e := needEnv(t)
	dir, err := filepath.Abs("testdata/multistage")
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := testbed.LocalDirs(dir, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := t.TempDir()
	var progress strings.Builder
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, err = e.Solve(ctx, client.SolveOpt{
		LocalMounts:   mounts,
		FrontendAttrs: map[string]string{"filename": "Dockerfile", "build-arg:MSG": "hi"},
		Exports:       []client.ExportEntry{{Type: client.ExporterLocal, OutputDir: got}},
	}, frontend.Build, &progress)
	if err != nil {
		t.Fatalf("in-process hoist build: %v\n%s", err, tail(progress.String()))
	}
	want := t.TempDir()
	mustBuild(t, stock, "multistage", "--build-arg", "MSG=hi", "--output", "type=local,dest="+want)
	if d := diffSnapshots(snapshot(t, want), snapshot(t, got)); d != "" {
		t.Fatalf("in-process hoist and stock differ:\n%s", d)
	}
}
