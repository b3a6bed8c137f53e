package llbgen

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/platforms"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeImages answers like the official images: golang has GOPATH=/go.
type fakeImages struct{}

func (fakeImages) Config(_ context.Context, ref string, _ *ocispecs.Platform) (*ImageConfig, error) {
	if strings.Contains(ref, "unresolvable") {
		return nil, fmt.Errorf("%s: not found", ref)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	if strings.HasPrefix(ref, "golang:") {
		env = []string{"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOPATH=/go"}
	}
	if strings.HasPrefix(ref, "node:") {
		env = append(env, "NODE_VERSION=20.0.0")
	}
	return &ImageConfig{Env: env}, nil
}

func (fakeImages) Passwd(context.Context, string, *ocispecs.Platform) ([]byte, error) {
	return []byte("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"), nil
}

// readKV reads KEY=VALUE lines of a case's optional file.
func readKV(t *testing.T, p string) map[string]string {
	m := map[string]string{}
	dt, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return m
	}
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m
}

func rewriteCase(t *testing.T, dir string, dt []byte) *Result {
	t.Helper()
	rw, err := Rewrite(context.Background(), dt, caseOptions(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	return rw
}

// caseOptions are the rewrite options of the golden case in dir: its
// build-args and options files, its directory as the build context.
func caseOptions(t *testing.T, dir string) Options {
	t.Helper()
	args := readKV(t, filepath.Join(dir, "build-args"))
	cfg, err := ParseConfig(args)
	if err != nil {
		t.Fatal(err)
	}
	opts := readKV(t, filepath.Join(dir, "options"))
	bctx, err := NewDirContext(dir, filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	p := platforms.MustParse("linux/amd64")
	return Options{
		Config:         cfg,
		BuildArgs:      args,
		Target:         opts["target"],
		TargetPlatform: &p,
		BuildPlatform:  &p,
		Images:         fakeImages{},
		Context:        bctx,
		CacheFrom:      cacheFromOption(opts),
		LayerCache:     opts["layer-cache"] != "",
		Tool:           toolOption(opts),
	}
}

func renderGolden(rw *Result) []byte {
	var b bytes.Buffer
	b.Write(rw.Dockerfile)
	b.WriteString("---- notes\n")
	for _, n := range rw.Notes {
		fmt.Fprintf(&b, "%s (changed=%v)\n", FormatNote(n), n.Changed)
	}
	b.WriteString("---- lines\n")
	for i := range bytes.Count(rw.Dockerfile, []byte("\n")) {
		fmt.Fprintf(&b, "%d->%d ", i+1, rw.Lines.Line(i+1))
	}
	b.WriteString("\n")
	return b.Bytes()
}

// TestRewriteGolden checks each case's rewritten Dockerfile, notes and line
// map against testdata/rewrite/<case>/golden, and that rewriting the
// result again changes nothing.
func TestRewriteGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/rewrite/*/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 15 {
		t.Fatalf("only %d rewrite cases", len(dirs))
	}
	for _, df := range dirs {
		dir := filepath.Dir(df)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			dt, err := os.ReadFile(df)
			if err != nil {
				t.Fatal(err)
			}
			rw := rewriteCase(t, dir, dt)
			got := renderGolden(rw)
			golden := filepath.Join(dir, "golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rewrite differs from %s:\n%s", golden, got)
			}

			again := rewriteCase(t, dir, rw.Dockerfile)
			if !bytes.Equal(again.Dockerfile, rw.Dockerfile) {
				t.Errorf("rewrite is not idempotent; second pass:\n%s", again.Dockerfile)
			}
			for _, n := range again.Notes {
				if n.Changed {
					t.Errorf("second pass changed something: %s", FormatNote(n))
				}
			}
		})
	}
}
