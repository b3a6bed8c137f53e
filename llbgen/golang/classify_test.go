package golang

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hoistbuild/hoist/internal/dftest"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// callsOf analyses one RUN line with the default shell.
func callsOf(t *testing.T, run string, env map[string]string) []shellscan.Call {
	t.Helper()
	cmd, shell := dftest.Run(t, run)
	calls, err := shellscan.RunCalls(cmd, shell, env)
	if err != nil {
		t.Fatalf("%s: %v", run, err)
	}
	return calls
}

func goSummary(u GoUse) string {
	var b strings.Builder
	b.WriteString(u.Sub)
	for _, f := range []struct {
		on   bool
		name string
	}{{u.Modules, "mod"}, {u.BuildCache, "build"}, {u.Vendor, "vendor"}, {u.Versioned, "versioned"}, {u.GOPATH, "gopath"}} {
		if f.on {
			b.WriteString(" " + f.name)
		}
	}
	if u.ModFlag != "" {
		b.WriteString(" -mod=" + u.ModFlag)
	}
	if u.Modfile != "" {
		b.WriteString(" -modfile=" + u.Modfile)
	}
	if u.Chdir != "" {
		b.WriteString(" -C=" + u.Chdir)
	}
	return b.String()
}

func TestClassifyGo(t *testing.T) {
	cases := []struct {
		run  string
		env  map[string]string
		want []string // one summary per go call; "-" for a call that is not go
	}{
		{run: "RUN go build ./...", want: []string{"build mod build"}},
		{run: "RUN /usr/local/go/bin/go test -count=1 ./...", want: []string{"test mod build"}},
		{run: "RUN go mod download && go mod tidy && go mod vendor && go mod verify", want: []string{
			"mod download mod", "mod tidy mod", "mod vendor mod", "mod verify mod"}},
		{run: "RUN go mod edit -replace a=b && go mod init x", want: []string{"mod edit", "mod init"}},
		{run: "RUN go version && go env GOPATH && go help build", want: []string{"version", "env", "help"}},
		{run: "RUN go fmt ./... && go doc fmt && go get golang.org/x/tools@latest", want: []string{"fmt mod", "doc mod", "get mod"}},
		{run: "RUN go vet ./... && go fix ./...", want: []string{"vet mod build", "fix mod build"}},
		{run: "RUN go list -m all && go list -export ./...", want: []string{"list mod", "list mod build"}},
		{run: "RUN go generate ./...", want: []string{"generate mod build"}},
		{run: "RUN go install golang.org/x/tools/cmd/stringer@v0.20.0", want: []string{"install mod build versioned"}},
		{run: "RUN go install ./cmd/app", want: []string{"install mod build"}},
		{run: "RUN go run ./cmd/gen -out=x@y", want: []string{"run mod build"}},
		{run: "RUN go run golang.org/x/tools/cmd/stringer@v0.20.0 -type=T", want: []string{"run mod build versioned"}},
		{run: "RUN go clean -modcache && go clean -cache -testcache && go clean", want: []string{
			"clean mod", "clean build", "clean mod"}},
		{run: "RUN go work sync && go work init ./a", want: []string{"work sync mod", "work init"}},
		{run: "RUN go tool && go tool pprof x && go tool stringer -type T", want: []string{
			"tool mod", "tool build", "tool mod build"}},
		{run: "RUN go build -mod=vendor -o /app .", want: []string{"build mod build vendor -mod=vendor"}},
		{run: "RUN go build -mod vendor -o /app .", want: []string{"build mod build vendor -mod=vendor"}},
		{run: "RUN go build -o /app . -mod=vendor", want: []string{"build mod build"}}, // after the packages: not a flag
		{run: "RUN go test ./... -mod=vendor", want: []string{"test mod build vendor -mod=vendor"}},
		{run: "RUN go test -run TestX -args -mod=vendor", want: []string{"test mod build"}},
		{run: "RUN GOFLAGS=-mod=vendor go build .", want: []string{"build mod build vendor -mod=vendor"}},
		{run: "RUN go build .", env: map[string]string{"GOFLAGS": "-mod=vendor -trimpath"}, want: []string{"build mod build vendor -mod=vendor"}},
		{run: "RUN go build -mod=mod .", env: map[string]string{"GOFLAGS": "-mod=vendor"}, want: []string{"build mod build -mod=mod"}},
		{run: "RUN go mod download", env: map[string]string{"GOFLAGS": "-mod=vendor"}, want: []string{"mod download mod -mod=vendor"}},
		{run: "RUN go install example.com/x@v1", env: map[string]string{"GOFLAGS": "-mod=vendor"}, want: []string{"install mod build versioned -mod=vendor"}},
		{run: "RUN go build -modfile=go.alt.mod .", want: []string{"build mod build -modfile=go.alt.mod"}},
		{run: "RUN go -C ./sub build . && go -C=/x test", want: []string{"build mod build -C=./sub", "test mod build -C=/x"}},
		{run: "RUN GO111MODULE=off go build .", want: []string{"build build gopath"}},
		{run: "RUN env GOOS=linux go1.22.3 build .", want: []string{"build mod build"}},
		{run: "RUN echo go build && gofmt -l . && golangci-lint run", want: []string{"-", "-", "-"}},
		{run: "RUN go", want: []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.run, func(t *testing.T) {
			calls := callsOf(t, tc.run, tc.env)
			var got []string
			for _, c := range calls {
				env := map[string]string{}
				for k, v := range tc.env {
					env[k] = v
				}
				for k, v := range c.Env {
					env[k] = v
				}
				u, ok := ClassifyGo(c, env)
				if !ok {
					got = append(got, "-")
					continue
				}
				got = append(got, goSummary(u))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
