package shellscan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hoistbuild/hoist/internal/dftest"
)

// summary renders the fields of a call a test cares about on one line:
// "L:name args @dir +ENV=v -UNSET %LOCAL=v dyn opaque <wrappers>".
func summary(c Call) string {
	var b strings.Builder
	if c.Heredoc != "" {
		b.WriteString(c.Heredoc)
	}
	fmt.Fprintf(&b, "%d:%s", c.Line, strings.Join(append([]string{c.Name}, c.Args...), " "))
	switch {
	case !c.DirKnown:
		b.WriteString(" @?")
	case c.Dir != "":
		b.WriteString(" @" + c.Dir)
	}
	b.WriteString(kv(" +", c.Env))
	for _, u := range c.Unset {
		b.WriteString(" -" + u)
	}
	b.WriteString(kv(" %", c.Locals))
	if c.Dynamic {
		b.WriteString(" dyn")
	}
	if c.Opaque {
		b.WriteString(" opaque")
	}
	if len(c.Wrappers) > 0 {
		b.WriteString(" <" + strings.Join(c.Wrappers, ",") + ">")
	}
	return b.String()
}

func kv(prefix string, m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(prefix + k + "=" + m[k])
	}
	return b.String()
}

type runCase struct {
	name string
	df   string // Dockerfile text after FROM; every RUN is analysed in order
	env  map[string]string
	// unset are variables known to be absent from env (RunCallsUnset).
	unset []string
	want  []string // summaries of all calls of all RUNs, in order
	err   string   // substring of the expected error (of the first failing RUN)
}

func checkRunCases(t *testing.T, cases []runCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			runs, shells := dftest.MustRuns(t, "FROM scratch\n"+tc.df)
			if len(runs) == 0 {
				t.Fatal("no RUN in test case")
			}
			var got []string
			var gotErr error
			for i, r := range runs {
				calls, err := RunCallsUnset(r, shells[i], tc.env, tc.unset)
				if err != nil {
					gotErr = err
					break
				}
				for _, c := range calls {
					got = append(got, summary(c))
				}
			}
			if tc.err != "" {
				if gotErr == nil || !strings.Contains(gotErr.Error(), tc.err) {
					t.Fatalf("want error containing %q, got %v (calls %q)", tc.err, gotErr, got)
				}
				return
			}
			if gotErr != nil {
				t.Fatalf("unexpected error: %v", gotErr)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("calls differ\n got: %s\nwant: %s", strings.Join(got, "\n      "), strings.Join(tc.want, "\n      "))
			}
		})
	}
}

func TestRunCallsChains(t *testing.T) {
	checkRunCases(t, []runCase{
		{name: "and chain", df: "RUN cd /src && go build ./...\n",
			want: []string{"1:go build ./... @/src"}},
		{name: "semicolon and or", df: "RUN go mod download; go build -o /app . || echo failed\n",
			want: []string{"1:go mod download", "1:go build -o /app .", "1:echo failed"}},
		{name: "pipe", df: "RUN go list -m all | grep foo | sort\n",
			want: []string{"1:go list -m all", "1:grep foo", "1:sort"}},
		{name: "line continuation", df: "RUN cd /src \\\n && CGO_ENABLED=0 \\\n    go build \\\n    -o /out/app ./cmd/app\n",
			want: []string{"1:go build -o /out/app ./cmd/app @/src +CGO_ENABLED=0"}},
		{name: "multi-line via sh -c", df: "RUN [\"sh\", \"-c\", \"cd /a\\ngo build\\ngo test\"]\n",
			want: []string{"2:go build @/a <sh -c>", "3:go test @/a <sh -c>"}},
		{name: "empty", df: "RUN true\n", want: []string{"1:true"}},
		{name: "negation and background", df: "RUN ! go vet ./... & cd /x; go test\n",
			want: []string{"1:go vet ./...", "1:go test @/x"}},
	})
}

func TestRunCallsCd(t *testing.T) {
	checkRunCases(t, []runCase{
		{name: "absolute", df: "RUN cd /src/app && go build\n", want: []string{"1:go build @/src/app"}},
		{name: "relative", df: "RUN cd app && go build\n", want: []string{"1:go build @app"}},
		{name: "multiple", df: "RUN cd /src && cd app/../cmd && cd ./x && go build\n", want: []string{"1:go build @/src/cmd/x"}},
		{name: "dotdot from workdir", df: "RUN cd .. && go build\n", want: []string{"1:go build @.."}},
		{name: "back to workdir", df: "RUN cd a && cd .. && go build\n", want: []string{"1:go build"}},
		{name: "cd dash", df: "RUN cd /a && cd /b && cd - && go build\n", want: []string{"1:go build @/a"}},
		{name: "cd dash to workdir", df: "RUN cd /a && cd - && go build\n", want: []string{"1:go build"}},
		{name: "unknown var", df: "RUN cd $SRC && go build && cd /b && go test\n",
			want: []string{"1:go build @?", "1:go test @/b"}},
		{name: "known var", df: "RUN cd \"$SRC/sub\" && go build\n", env: map[string]string{"SRC": "/src"},
			want: []string{"1:go build @/src/sub"}},
		{name: "cd home", df: "RUN cd && go env GOPATH\n", env: map[string]string{"HOME": "/root"},
			want: []string{"1:go env GOPATH @/root"}},
		{name: "cd home unknown", df: "RUN cd ~ && go env\n", want: []string{"1:go env @?"}},
		{name: "cd command subst", df: "RUN cd $(go env GOROOT)/src && ./make.bash\n",
			want: []string{"1:go env GOROOT", "1:./make.bash @?"}},
		{name: "subshell does not leak", df: "RUN (cd /a && go build) && go test\n",
			want: []string{"1:go build @/a", "1:go test"}},
		{name: "block leaks", df: "RUN { cd /a; go build; } && go test\n",
			want: []string{"1:go build @/a", "1:go test @/a"}},
		{name: "pipe does not leak", df: "RUN cd /a | true; go build\n",
			want: []string{"1:true", "1:go build"}},
		{name: "conditional cd", df: "RUN [ -d sub ] && cd sub; go build\n",
			want: []string{"1:[ -d sub ]", "1:go build @?"}},
		{name: "cd or exit", df: "RUN cd /src || exit 1; go build\n",
			want: []string{"1:go build @/src"}},
		{name: "pushd popd", df: "RUN pushd /a && go build && popd && go test\n",
			want: []string{"1:go build @/a", "1:go test"}},
		{name: "cd -P and --", df: "RUN cd -P -- /a && go build\n", want: []string{"1:go build @/a"}},
		{name: "PWD unknown", df: "RUN cd $PWD/sub && go build\n", want: []string{"1:go build @?"}},
		{name: "PWD after cd", df: "RUN cd /a && cd \"$PWD/b\" && go build -o $OLDPWD/x\n", want: []string{"1:go build -o /a/x @/a/b"}},
		{name: "cdpath", df: "RUN cd sub && go build\n", env: map[string]string{"CDPATH": "/x"},
			want: []string{"1:go build @?"}},
	})
}

func TestRunCallsEnv(t *testing.T) {
	checkRunCases(t, []runCase{
		{name: "prefix", df: "RUN CGO_ENABLED=0 GOOS=linux go build\n",
			want: []string{"1:go build +CGO_ENABLED=0 +GOOS=linux"}},
		{name: "prefix does not persist", df: "RUN GOFLAGS=-mod=vendor go build && go test\n",
			want: []string{"1:go build +GOFLAGS=-mod=vendor", "1:go test"}},
		{name: "export", df: "RUN export GOFLAGS=-mod=mod && go build; go test\n",
			want: []string{"1:go build +GOFLAGS=-mod=mod", "1:go test +GOFLAGS=-mod=mod"}},
		{name: "plain assignment of an env var", df: "RUN GOFLAGS=-mod=vendor; go build\n", env: map[string]string{"GOFLAGS": ""},
			want: []string{"1:go build +GOFLAGS=-mod=vendor"}},
		{name: "plain assignment not exported", df: "RUN V=1.2; go build -ldflags=-X=main.v=$V\n",
			want: []string{"1:go build -ldflags=-X=main.v=1.2 %V=1.2"}},
		{name: "export later", df: "RUN V=1; export V; go build\n",
			want: []string{"1:go build +V=1"}},
		{name: "set -a", df: "RUN set -a; V=1; go build\n", want: []string{"1:go build +V=1"}},
		// GNU env stops option parsing at the first assignment: -C is the command.
		{name: "env options after assignment", df: "RUN env CGO_ENABLED=0 -C /x go build\n",
			want: []string{"1:-C /x go build +CGO_ENABLED=0 <env>"}},
		{name: "env wrapper order", df: "RUN env -C /x CGO_ENABLED=0 go build\n",
			want: []string{"1:go build @/x +CGO_ENABLED=0 <env>"}},
		{name: "env -u and -i", df: "RUN env -u GOFLAGS go build && env -i PATH=/bin go test\n", env: map[string]string{"GOFLAGS": "-x", "HOME": "/root"},
			want: []string{"1:go build -GOFLAGS <env>", "1:go test +PATH=/bin -GOFLAGS -HOME <env>"}},
		{name: "unset", df: "RUN unset GOFLAGS && go build\n", env: map[string]string{"GOFLAGS": "-x"},
			want: []string{"1:go build -GOFLAGS"}},
		{name: "unresolvable value", df: "RUN export GOPATH=$(mktemp -d) && go build\n",
			want: []string{"1:mktemp -d", "1:go build -GOPATH"}},
		{name: "default expansion", df: "RUN go build -o ${OUT:-/bin/app} -tags \"${TAGS:-netgo}\"\n", env: map[string]string{"TAGS": ""},
			want: []string{"1:go build -o ${OUT} -tags netgo dyn"}},
		{name: "default with env", df: "RUN go build -o ${OUT:-/bin/app}\n", env: map[string]string{"OUT": "/x"},
			want: []string{"1:go build -o /x"}},
		{name: "default after unset", df: "RUN unset OUT; go build -o ${OUT:-/bin/app}\n",
			want: []string{"1:go build -o /bin/app -OUT"}},
		{name: "field splitting", df: "RUN go build $FLAGS .\n", env: map[string]string{"FLAGS": "-trimpath  -v"},
			want: []string{"1:go build -trimpath -v ."}},
		{name: "quoted no splitting", df: "RUN go build \"$FLAGS\" .\n", env: map[string]string{"FLAGS": "-a -b"},
			want: []string{"1:go build -a -b ."}},
		{name: "unknown var dynamic", df: "RUN go build -o $OUT\n", want: []string{"1:go build -o ${OUT} dyn"}},
		{name: "ENV from Dockerfile", df: "ENV X=1\nRUN go build -tags $X\n", env: map[string]string{"X": "1"},
			want: []string{"1:go build -tags 1"}},
		{name: "if merges", df: "RUN if [ -f go.mod ]; then export GOFLAGS=-mod=mod; fi; go build\n",
			want: []string{"1:[ -f go.mod ]", "1:go build -GOFLAGS"}},
		{name: "if both branches agree", df: "RUN if true; then cd /a; else cd /a; fi; go build\n",
			want: []string{"1:true", "1:go build @/a"}},
		{name: "declare -x", df: "SHELL [\"/bin/bash\", \"-c\"]\nRUN declare -x A=1 && local B=2; go build\n",
			want: []string{"1:go build +A=1 %B=2"}},
		{name: "known test takes one branch", df: "RUN if [ \"$CI\" != true ]; then npm ci; else echo skip; fi; go build\n", env: map[string]string{"CI": ""},
			want: []string{"1:npm ci", "1:go build"}},
		{name: "known test false", df: "RUN if [ \"$BUILD_JS\" = 1 ]; then yarn install; elif test -n \"$X\"; then npm ci; else mkdir -p b; fi\n", env: map[string]string{"BUILD_JS": "0", "X": ""},
			want: []string{"1:mkdir -p b"}},
		{name: "known test in a chain", df: "RUN [ \"$A\" -eq 1 ] && npm ci; [ -z \"$A\" ] || go build; ! [ a = b ] && go vet\n", env: map[string]string{"A": "2"},
			want: []string{"1:go build", "1:go vet"}},
		{name: "unknown test both branches", df: "RUN if [ \"$U\" = 1 ]; then npm ci; fi; if [ a == a ]; then go build; fi\n",
			want: []string{"1:[ ${U} = 1 ] dyn", "1:npm ci", "1:[ a == a ]", "1:go build"}},
		{name: "known unset variable", df: "RUN arch=${TARGETARCH} yarn install --arch=$TARGETARCH ${GOOS-linux} && sh -c 'go build -o ${TARGETOS}x'\n",
			unset: []string{"TARGETARCH", "TARGETOS", "GOOS"}, env: map[string]string{"GOOS": "darwin"},
			want: []string{"1:yarn install --arch= darwin +arch=", "1:go build -o x <sh -c>"}},
		{name: "test shadowed by a function", df: "RUN test() { :; }; test a = b && go build\n",
			want: []string{"1::", "1:go build"}},
	})
}

func TestRunCallsShells(t *testing.T) {
	checkRunCases(t, []runCase{
		{name: "sh -c quoting", df: "RUN sh -c 'cd /src && go build -o \"/out dir\"'\n",
			want: []string{"1:go build -o /out dir @/src <sh -c>"}},
		{name: "bash -ec inherits dir not locals", df: "RUN cd /a && V=1 && export E=2 && bash -ec \"go build -tags \\$V\"\n",
			want: []string{"1:go build -tags ${V} @/a +E=2 dyn <bash -c>"}},
		{name: "sh -c positional", df: "RUN sh -c 'go build -o \"$1\" \"$0\"' ./cmd /out\n",
			want: []string{"1:go build -o /out ./cmd <sh -c>"}},
		{name: "sh -c cd does not leak", df: "RUN sh -c 'cd /a' && go build\n",
			want: []string{"1:go build"}},
		{name: "prefix into sh -c", df: "RUN GOFLAGS=-mod=vendor sh -c 'go build'\n",
			want: []string{"1:go build +GOFLAGS=-mod=vendor <sh -c>"}},
		{name: "nested", df: "RUN bash -c \"sh -c 'go test ./...'\"\n",
			want: []string{"1:go test ./... <bash -c,sh -c>"}},
		{name: "dynamic script", df: "RUN sh -c \"$CMD\"\n", want: []string{"1:sh -c ${CMD} dyn opaque"}},
		{name: "script file", df: "RUN sh ./build.sh\n", want: []string{"1:sh ./build.sh opaque"}},
		{name: "curl pipe sh", df: "RUN curl -fsSL https://x | sh\n", want: []string{"1:curl -fsSL https://x", "1:sh opaque"}},
		{name: "here-string", df: "SHELL [\"/bin/bash\", \"-c\"]\nRUN bash <<< 'go build'\n", want: []string{"1:go build <bash>"}},
		{name: "wrappers", df: "RUN time nice -n 10 nohup timeout -s KILL 10m stdbuf -oL go build && command -p go test\n",
			want: []string{"1:go build <time,nice,nohup,timeout,stdbuf>", "1:go test <command>"}},
		{name: "exec", df: "RUN exec go build; go test\n", want: []string{"1:go build <exec>"}},
		{name: "command -v is a lookup", df: "RUN command -v go\n", want: []string{"1:command -v go"}},
		{name: "xargs", df: "RUN find . -name go.mod | xargs -n1 dirname | xargs -I{} sh -c 'cd {} && go build'\n",
			want: []string{"1:find . -name go.mod", "1:dirname dyn <xargs>", "1:sh -c cd {} && go build dyn opaque <xargs>"}},
		{name: "find -exec", df: "RUN find /src -name go.mod -execdir go mod download \\; -exec gofmt -l {} +\n",
			want: []string{"1:find /src -name go.mod -execdir go mod download ; -exec gofmt -l {} +",
				"1:go mod download @? dyn <find -execdir>", "1:gofmt -l {} dyn <find -exec>"}},
		{name: "eval static", df: "RUN eval 'cd /a; go build'; go test\n",
			want: []string{"1:go build @/a <eval>", "1:go test @/a"}},
		{name: "eval dynamic", df: "RUN eval \"$X\"; go test\n",
			want: []string{"1:eval ${X} dyn opaque", "1:go test @?"}},
		{name: "source", df: "RUN . /etc/profile && go build\n",
			want: []string{"1:. /etc/profile opaque", "1:go build"}},
		{name: "function", df: "RUN b() { cd /src; go build \"$@\"; }; b -v ./...; go test\n",
			want: []string{"1:go build -v ./... @/src", "1:go test @/src"}},
		{name: "function definition in a chain", df: "RUN f() { go build; } && f && go vet\n",
			want: []string{"1:go build", "1:go vet"}},
		{name: "recursive function", df: "RUN f() { f; }; f; go build\n",
			want: []string{"1:f opaque", "1:go build @?"}},
		{name: "for loop", df: "RUN for d in a b; do (cd $d && go build); done\n",
			want: []string{"1:go build @?"}},
		{name: "for loop absolute cd", df: "RUN for d in a b; do go vet; cd /src; go build; done\n",
			want: []string{"1:go vet @?", "1:go build @/src"}},
		{name: "for single item", df: "RUN for d in a; do cd $d && go build; done; go test\n",
			want: []string{"1:go build @a %d=a", "1:go test @a %d=a"}},
		{name: "while loop", df: "RUN while read -r d; do go test \"$d\"; done < list\n",
			want: []string{"1:read -r d", "1:go test ${d} dyn"}},
		{name: "case", df: "RUN case \"$TARGETARCH\" in amd64) cd /a ;; *) cd /b ;; esac && go build\n", env: map[string]string{"TARGETARCH": "amd64"},
			want: []string{"1:go build @?"}},
		{name: "sudo resets env", df: "RUN sudo -u builder -D /src GOOS=linux go build && sudo -E go test\n", env: map[string]string{"GOFLAGS": "-x"},
			want: []string{"1:go build @/src +GOOS=linux -GOFLAGS -HOME <sudo>", "1:go test -HOME <sudo>"}},
		{name: "sudo shell is opaque", df: "RUN sudo -s\n", want: []string{"1:sudo -s opaque"}},
		{name: "gosu", df: "RUN gosu app go build\n", env: map[string]string{"HOME": "/root"},
			want: []string{"1:go build -HOME <gosu>"}},
		{name: "runuser", df: "RUN runuser -u app -- npm ci && runuser app -c 'npm ci'\n",
			want: []string{"1:npm ci -HOME <runuser>", "1:runuser app -c npm ci opaque"}},
		{name: "set positional", df: "RUN set -- -v ./...; go build \"$@\"; shift; go vet $*\n",
			want: []string{"1:go build -v ./...", "1:go vet ./..."}},
		{name: "exec redirection only", df: "RUN exec >/log 2>&1; go build\n", want: []string{"1:go build"}},
		{name: "bash -lc", df: "RUN bash -lc 'cd /a && go build' && sh -xec 'go vet' && sh -o errexit -c 'go test'\n",
			want: []string{"1:go build @/a <bash -c>", "1:go vet <sh -c>", "1:go test <sh -c>"}},
		{name: "sh -c without script", df: "RUN sh -c\n", want: []string{"1:sh -c"}},
		{name: "arithmetic assigns", df: "SHELL [\"/bin/bash\", \"-c\"]\nRUN i=1; ((i++)); go build -p $i\n",
			want: []string{"1:go build -p ${i} dyn"}},
		{name: "command substitution into cd", df: "RUN d=$(go env GOMODCACHE); cd $d && ls\n",
			want: []string{"1:go env GOMODCACHE", "1:ls @?"}},
		{name: "su -c is opaque", df: "RUN su -c 'go build' builder\n", want: []string{"1:su -c go build builder opaque"}},
		{name: "dynamic command name", df: "RUN $GO build\n", want: []string{"1:${GO} build dyn"}},
	})
}

func TestRunCallsForms(t *testing.T) {
	checkRunCases(t, []runCase{
		{name: "exec form", df: "RUN [\"go\", \"build\", \"-o\", \"/app\", \"$NOT_EXPANDED\"]\n",
			want: []string{"1:go build -o /app $NOT_EXPANDED"}},
		{name: "exec form sh -c", df: "RUN [\"/bin/sh\", \"-ec\", \"cd /src; go build\"]\n",
			want: []string{"1:go build @/src <sh -c>"}},
		{name: "exec form env", df: "RUN [\"/usr/bin/env\", \"GOOS=linux\", \"go\", \"build\"]\n",
			want: []string{"1:go build +GOOS=linux <env>"}},
		{name: "bash pipefail shell", df: "SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"]\nRUN [[ -f go.mod ]] && go mod download | tee log\n",
			want: []string{"1:go mod download", "1:tee log"}},
		{name: "bash syntax under /bin/sh", df: "RUN [[ -f go.mod ]] && function f { go build; } && f\n",
			want: []string{"1:go build"}},
		{name: "env bash shell", df: "SHELL [\"/usr/bin/env\", \"bash\", \"-c\"]\nRUN go build\n",
			want: []string{"1:go build"}},
		{name: "heredoc", df: "RUN <<EOF\nset -e\ncd /src\ngo mod download\ngo build -o /app .\nEOF\n",
			want: []string{"EOF3:go mod download @/src", "EOF4:go build -o /app . @/src"}},
		{name: "heredoc chomp", df: "RUN <<-EOF\n\tcd /src\n\tgo build\nEOF\n",
			want: []string{"EOF2:go build @/src"}},
		{name: "heredoc bash", df: "RUN bash <<EOF\ncd /src\ngo test ./...\nEOF\n",
			want: []string{"EOF2:go test ./... @/src <bash>"}},
		{name: "heredoc bash quoted", df: "RUN bash -e <<'EOF'\ngo build -o $OUT\nEOF\n",
			want: []string{"EOF1:go build -o ${OUT} dyn <bash>"}},
		{name: "heredoc shebang bash", df: "RUN <<EOF\n#!/bin/bash\ncd /src\ngo build\nEOF\n",
			want: []string{"EOF3:go build @/src <bash>"}},
		{name: "heredoc python", df: "RUN python3 <<EOF\nimport os\nos.system('go build')\nEOF\n",
			want: []string{"1:python3"}},
		{name: "heredoc shebang python", df: "RUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n",
			want: []string{"EOF1:python3 /dev/pipes/EOF <env>"}},
		{name: "two heredocs", df: "RUN <<A cat > /x && <<B sh\naaa\nA\ncd /b\ngo build\nB\n",
			want: []string{"1:cat", "B2:go build @/b <sh>"}},
		{name: "heredoc bash unquoted unknown", df: "RUN bash <<EOF\nX=1\ngo build -o $X -tags $(cat tags) .\ngo vet\nEOF\n",
			want: []string{"3:cat tags", "EOF2:go build -o ${_hoist_unknown} -tags ${_hoist_unknown} . %X=1 dyn <bash>", "EOF3:go vet %X=1 <bash>"}},
		{name: "heredoc with ENV", df: "RUN <<EOF\ngo build -tags $T\nEOF\n", env: map[string]string{"T": "x"},
			want: []string{"EOF1:go build -tags x"}},
	})
}

func TestRunCallsErrors(t *testing.T) {
	checkRunCases(t, []runCase{
		{name: "unparsable", df: "RUN go build && (cd /x\n", err: "cannot parse"},
		{name: "unparsable nested", df: "RUN sh -c 'if true; then go build'\n", err: "cannot parse"},
		{name: "powershell", df: "SHELL [\"powershell\", \"-command\"]\nRUN go build\n", err: "not a POSIX shell"},
		{name: "cmd", df: "SHELL [\"cmd\", \"/S\", \"/C\"]\nRUN go build\n", err: "not a POSIX shell"},
	})
	if _, err := RunCalls(nil, nil, nil); err == nil {
		t.Error("nil RUN: want error")
	}
	runs, _ := dftest.MustRuns(t, "FROM scratch\nSHELL [\"pwsh\", \"-c\"]\nRUN go build\n")
	_, err := RunCalls(runs[0], []string{"pwsh", "-c"}, nil)
	if !errors.Is(err, errNotShell) {
		t.Errorf("pwsh: got %v, want errNotShell", err)
	}
}
