package llbgen

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// memContext is a build context of in-memory files.
type memContext map[string]string

func (m memContext) ReadFile(_ context.Context, p string) ([]byte, error) {
	if s, ok := m[p]; ok {
		return []byte(s), nil
	}
	return nil, fs.ErrNotExist
}

// FuzzRewrite: rewriting never panics (Rewrite recovers and says so in a
// hoist/internal-error note), its output parses whenever the input does,
// and rewriting the output again changes nothing.
func FuzzRewrite(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/rewrite/*/Dockerfile")
	for _, s := range seeds {
		if dt, err := os.ReadFile(s); err == nil {
			f.Add(dt)
		}
	}
	f.Add([]byte("FROM golang\nRUN go build\n"))
	f.Add([]byte("FROM 0\nENV HOME /\nUSER 0 --\nRUN go build\n"))
	f.Add([]byte("FROM golang\nENV GOCACHE=/a,b\nRUN go build\n"))
	// Shapes of the cache-safety engine: destroyers, writers, opaque steps,
	// user mounts of a parent.
	f.Add([]byte("FROM golang\nCOPY . .\nRUN go build && rm -rf /root/.cache/go-build $GOPATH/pkg/* ~/.cache\n"))
	f.Add([]byte("FROM golang\nCOPY go.mod ./\nRUN go mod download && sed -i s/a/b/ /go/pkg/mod/x/y.go > /go/pkg/mod/z\nCOPY . .\nRUN make -C app build\n"))
	f.Add([]byte("FROM node:20\nENV HOME=/app\nWORKDIR /app\nCOPY . .\nRUN npm ci --cache /tmp/c && npm run build && (cd /tmp && rm -rf *)\n"))
	f.Add([]byte("FROM alpine\nRUN apk add go\nCOPY . .\nRUN --mount=type=cache,target=/root/.cache ./build.sh && go clean -modcache\nFROM 0\nRUN bash scripts/x.sh\n"))
	ctxFiles := memContext{
		"go.mod":     "module example.com/m\n\ngo 1.26\n",
		"go.sum":     "",
		"app/go.mod": "module example.com/app\n\ngo 1.26\nreplace example.com/m => ../\n",
		// and a Node project, so installs get hoisted and cut out too
		"package.json":      `{"name":"f","version":"1.0.0","dependencies":{"is-number":"7.0.0"}}`,
		"package-lock.json": `{"name":"f","version":"1.0.0","lockfileVersion":3,"requires":true,"packages":{"":{"name":"f","version":"1.0.0","dependencies":{"is-number":"7.0.0"}},"node_modules/is-number":{"version":"7.0.0"}}}`,
	}
	f.Fuzz(func(t *testing.T, dt []byte) {
		opt := Options{Config: DefaultConfig(), Images: fakeImages{}, Context: ctxFiles}
		rw, err := Rewrite(context.Background(), dt, opt)
		if err != nil {
			return
		}
		for _, n := range rw.Notes {
			if n.Rule == RuleInternal.Name {
				t.Fatalf("rewrite panicked: %s\n%s", n.Message, dt)
			}
		}
		ast, err := parser.Parse(bytes.NewReader(dt))
		if err != nil {
			return
		}
		if _, _, err := instructions.Parse(ast.AST, nil); err != nil {
			return
		}
		ast2, err := parser.Parse(bytes.NewReader(rw.Dockerfile))
		if err != nil {
			t.Fatalf("rewrite does not parse: %v\n%s", err, rw.Dockerfile)
		}
		if _, _, err := instructions.Parse(ast2.AST, nil); err != nil {
			t.Fatalf("rewrite does not parse: %v\n%s", err, rw.Dockerfile)
		}
		again, err := Rewrite(context.Background(), rw.Dockerfile, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Dockerfile, rw.Dockerfile) {
			t.Fatalf("not idempotent:\n%s\n---\n%s", rw.Dockerfile, again.Dockerfile)
		}
	})
}
