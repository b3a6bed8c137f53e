package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	out := explain(t, filepath.Join("..", "..", "examples", "go-app"))
	for _, want := range []string{
		"# hoist: line 3: go mod download hoisted before this COPY",
		"COPY go.mod go.sum /src/\n",
		"--mount=type=cache,id=hoist-go-build,target=/root/.cache/go-build,sharing=shared CGO_ENABLED=0 go build",
		"# hoist: assumed image golang:1.26 has env",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestExplainDiff(t *testing.T) {
	out := explain(t, "--diff", filepath.Join("..", "..", "examples", "go-app"))
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
