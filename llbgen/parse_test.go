package llbgen

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// One parse serves every analysis of a build, concurrently, as the
// frontend's per-platform builds use it: each rewrite of a shared
// Dockerfile equals the rewrite of its own parse, run after run (run with
// -race to see the parse is only read).
func TestSharedParse(t *testing.T) {
	dirs, err := filepath.Glob("testdata/rewrite/*/Dockerfile")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	for _, f := range dirs {
		dir := filepath.Dir(f)
		dt, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want := renderGolden(rewriteCase(t, dir, dt))
		opt := caseOptions(t, dir)
		df := ParseDockerfile(dt)
		if df.Err != nil {
			t.Fatalf("%s: %v", dir, df.Err)
		}
		var wg sync.WaitGroup
		got := make([][]byte, 4)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				df.MayRewrite(opt.Config)
				df.FindImages(ImageOptions{BuildArgs: opt.BuildArgs, TargetPlatform: opt.TargetPlatform, BuildPlatform: opt.BuildPlatform})
				rw, err := df.Rewrite(context.Background(), opt)
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = renderGolden(rw)
			}()
		}
		wg.Wait()
		for i, g := range got {
			if !bytes.Equal(g, want) {
				t.Errorf("%s: rewrite %d of the shared parse differs:\n%s\nwant:\n%s", filepath.Base(dir), i, g, want)
			}
		}
	}
}

// A Dockerfile that does not parse keeps its error for image discovery and
// is returned unchanged by the rewrite.
func TestParseDockerfileError(t *testing.T) {
	dt := []byte("FROM golang\nRUN <<EOF\n")
	df := ParseDockerfile(dt)
	if df.Err == nil {
		t.Skip("the parser accepts an unterminated heredoc")
	}
	if _, err := df.FindImages(ImageOptions{}); err == nil {
		t.Error("FindImages of an unparsable Dockerfile: no error")
	}
	rw, err := df.Rewrite(context.Background(), Options{Config: DefaultConfig()})
	if err != nil || !bytes.Equal(rw.Dockerfile, dt) {
		t.Errorf("rewrite of an unparsable Dockerfile: %q, %v", rw.Dockerfile, err)
	}
}
