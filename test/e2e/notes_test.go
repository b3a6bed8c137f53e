package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotesSkipped: `# check=skip=<hoist rule>` silences that rule's build
// warnings as it silences BuildKit's own checks; other rules still report.
func TestNotesSkipped(t *testing.T) {
	e := needEnv(t)
	body := "FROM golang:1.26\nWORKDIR /src\n" +
		`RUN printf 'package main\n\nfunc main() {}\n' > main.go && go mod init example.com/notes && go build -o /notes .` + "\n"
	build := func(df string) string {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			t.Fatal(err)
		}
		return bx(t, e, dir, "--build-arg", "BUILDKIT_SYNTAX="+e.HoistImage, "--output", "type=cacheonly")
	}
	out := build(body)
	if !strings.Contains(out, "[hoist/cache-mount]") || !strings.Contains(out, "[hoist/cache-kept-in-layer]") {
		t.Fatalf("want both notes without the directive:\n%s", tail(out))
	}
	out = build("# check=skip=hoist/cache-mount\n" + body)
	if strings.Contains(out, "[hoist/cache-mount]") {
		t.Errorf("hoist/cache-mount reported though skipped:\n%s", tail(out))
	}
	if !strings.Contains(out, "[hoist/cache-kept-in-layer]") {
		t.Errorf("hoist/cache-kept-in-layer not reported:\n%s", tail(out))
	}
}
