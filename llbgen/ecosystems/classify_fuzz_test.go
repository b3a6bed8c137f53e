package ecosystems

import (
	"testing"

	"github.com/hoistbuild/hoist/internal/dftest"
	"github.com/hoistbuild/hoist/llbgen/golang"
	"github.com/hoistbuild/hoist/llbgen/node"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// FuzzClassify feeds the calls of every RUN of arbitrary Dockerfile text
// to the classifiers: no panics.
func FuzzClassify(f *testing.F) {
	for _, seed := range []string{
		"FROM golang\nWORKDIR /src\nRUN cd app && CGO_ENABLED=0 go build -o /out/app ./cmd/app\n",
		"FROM x\nRUN --mount=type=cache,target=/root/.cache/go-build go mod download && \\\n  go build ./...\n",
		"FROM x\nSHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN set -euo pipefail; for d in a b; do (cd $d && go test ./...); done | tee log\n",
		"FROM x\nRUN <<EOF\n#!/bin/sh\nset -e\ncd /src\nexport GOFLAGS=-mod=vendor\ngo build\nEOF\n",
		"FROM x\nRUN bash <<'EOF' && sh -c 'npm ci --omit=dev'\nif [ -f yarn.lock ]; then yarn --frozen-lockfile; else npm ci; fi\nEOF\n",
		"FROM x\nRUN [\"sh\", \"-c\", \"eval \\\"cd /a; go vet\\\"; f() { f; }; f\"]\n",
		"FROM x\nARG V=1\nENV GOFLAGS=\"-mod=mod\"\nRUN env -i -C /x GOOS=linux xargs -I{} sh -c 'cd {}; go build' < list; case $V in 1) cd /a;; esac; pnpm -C web fetch\n",
		"FROM x\nSHELL [\"powershell\", \"-command\"]\nRUN go build\n",
		"FROM x\nRUN $(echo go) build \"${OUT:-/bin}\" ~/x $((1+2)) <(true) a{b,c} *.go\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, df string) {
		runs, shells, err := dftest.Runs(df)
		if err != nil {
			return
		}
		env := map[string]string{"HOME": "/root", "GOFLAGS": "-mod=mod", "V": "1"}
		for i, run := range runs {
			calls, _ := shellscan.RunCalls(run, shells[i], env)
			for _, call := range calls {
				golang.ClassifyGo(call, env)
				node.ClassifyNode(call)
			}
		}
	})
}
