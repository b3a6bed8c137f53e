package main

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func explain(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), append([]string{"explain"}, args...), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestExplainAnnotates(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "go-app")
	out := explain(t, dir)
	for _, want := range []string{
		"# hoist: line 4: cache mounts /go/pkg/mod, /root/.cache/go-build added",
		"--mount=type=cache,id=hoist-go-build,target=/root/.cache/go-build,sharing=shared CGO_ENABLED=0 go build",
		"# hoist: assumed image golang:1.26 has env",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	// --cache-from keeps the module cache in the layers, with the
	// download hoisted into them: inserted lines are annotated too.
	out = explain(t, "--cache-from", "type=gha", dir)
	for _, want := range []string{
		"# hoist: line 3: go mod download hoisted before this COPY",
		"COPY go.mod go.sum /src/\nRUN go mod download\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q with --cache-from in:\n%s", want, out)
		}
	}
}

func TestExplainDiff(t *testing.T) {
	out := explain(t, "--diff", "--cache-from", "type=gha", filepath.Join("..", "..", "examples", "go-app"))
	if !strings.Contains(out, "\n+COPY go.mod go.sum /src/\n") || !strings.Contains(out, "\n-RUN CGO_ENABLED=0 go build -o /out/app .\n") {
		t.Errorf("diff:\n%s", out)
	}
}

func TestExplainImageEnvAndSwitches(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "go-app")
	out := explain(t, "--image-env", "golang:1.26=GOMODCACHE=/m", "--image-env", "golang:1.26=HOME=/h", dir)
	if !strings.Contains(out, "target=/m,") || !strings.Contains(out, "target=/h/.cache/go-build") {
		t.Errorf("--image-env not applied:\n%s", out)
	}
	off := explain(t, "--build-arg", "HOIST=off", dir)
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(off, string(df)) || !strings.Contains(off, "# hoist: no changes") {
		t.Errorf("HOIST=off changed the Dockerfile:\n%s", off)
	}
}

// TestExplainAssumesOnce: stages sharing an image get one note on what
// was assumed of it.
func TestExplainAssumesOnce(t *testing.T) {
	dir := t.TempDir()
	df := "FROM node:20 AS deps\nRUN npm ci\nFROM node:20\nRUN npm run build\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	out := explain(t, dir)
	if n := strings.Count(out, "# hoist: assumed image node:20 has env"); n != 1 {
		t.Errorf("%d notes on node:20, want 1:\n%s", n, out)
	}
}

func TestExplainErrors(t *testing.T) {
	for _, args := range [][]string{
		{"explain", "--image-env", "nonsense"},
		{"explain", "--build-arg", "HOIST_GO=maybe", filepath.Join("..", "..", "examples", "go-app")},
		{"explain", "/nonexistent"},
		{"frobnicate"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestExplainResolve resolves a plan for real: a mirror that refuses
// connections is reported and the origin registry answers with the digest.
func TestExplainResolve(t *testing.T) {
	reg := httptest.NewServer(registry.New())
	defer reg.Close()
	origin := strings.TrimPrefix(reg.URL, "http://")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(origin + "/base:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dgst, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+origin+"/base:1\nRUN true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := explain(t, "--resolve", "--build-arg", "HOIST_MIRRORS="+origin+"="+closed, "--build-arg", "HOIST_RESOLVE_TIMEOUT=2s", dir)
	for _, want := range []string{
		"line 1 FROM " + origin + "/base:1",
		"#   " + closed + "/base:1: ",
		"#   " + origin + "/base:1: " + dgst.String(),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

// TestExplainCacheTargetTool checks that explain --target hoist-cache shows
// the export steps in the image the build would use: BUILDKIT_SYNTAX, else
// the syntax directive.
func TestExplainCacheTargetTool(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "go-app")
	out := explain(t, "--target", "hoist-cache", "--build-arg", "BUILDKIT_SYNTAX=registry.example.com/tools/hoist:1", dir)
	if !strings.Contains(out, "FROM --platform=$BUILDPLATFORM registry.example.com/tools/hoist:1 AS hoist-cache-1\n") ||
		!strings.Contains(out, `["/bin/hoist-frontend","cache-export","-keep","24h0m0s","/run/hoist-cache-src","/hoist-cache/hoist-go-build"]`) {
		t.Errorf("export steps not in the BUILDKIT_SYNTAX image:\n%s", out)
	}
	df, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(f, append([]byte("# syntax=registry.example.com/tools/hoist:2\n"), df...), 0o644); err != nil {
		t.Fatal(err)
	}
	out = explain(t, "--target", "hoist-cache", "-f", f, dir)
	if !strings.Contains(out, "FROM --platform=$BUILDPLATFORM registry.example.com/tools/hoist:2 AS hoist-cache-1\n") {
		t.Errorf("export steps not in the syntax directive's image:\n%s", out)
	}
}
