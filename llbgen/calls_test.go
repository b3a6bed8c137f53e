package llbgen

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// runsOf parses Dockerfile text exactly as the frontend does and returns
// its RUN instructions with the SHELL in effect for each.
func runsOf(t testing.TB, df string) ([]*instructions.RunCommand, [][]string) {
	t.Helper()
	runs, shells, err := parseRuns(df)
	if err != nil {
		t.Fatal(err)
	}
	return runs, shells
}

func parseRuns(df string) ([]*instructions.RunCommand, [][]string, error) {
	res, err := parser.Parse(strings.NewReader(df))
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("instructions: %w", err)
	}
	var runs []*instructions.RunCommand
	var shells [][]string
	for _, st := range stages {
		var shell []string
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.ShellCommand:
				shell = c.Shell
			case *instructions.RunCommand:
				runs = append(runs, c)
				shells = append(shells, shell)
			}
		}
	}
	return runs, shells, nil
}

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
		runs, shells, err := parseRuns(df)
		if err != nil {
			return
		}
		env := map[string]string{"HOME": "/root", "GOFLAGS": "-mod=mod", "V": "1"}
		for i, run := range runs {
			calls, _ := shellscan.RunCalls(run, shells[i], env)
			for _, call := range calls {
				ClassifyGo(call, env)
				ClassifyNode(call)
			}
		}
	})
}
