package llbgen

import (
	"slices"
	"testing"

	"github.com/hoistbuild/hoist/internal/dftest"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

// TestCallWrites: output redirections are reported on the calls they
// apply to, an enclosing block's included; fd duplications and /dev are not.
func TestCallWrites(t *testing.T) {
	runs, shells := dftest.MustRuns(t, "FROM x\nRUN echo a > /go/pkg/mod/x && { cat b; ls; } >> out.txt 2>&1 && echo c >/dev/null && d=$(mktemp) && echo e 2>&1 | tee f\n")
	calls, err := shellscan.RunCalls(runs[0], shells[0], map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"echo a": {"/go/pkg/mod/x"}, "cat b": {"out.txt"}, "ls": {"out.txt"}, "echo c": nil, "echo e": nil, "tee f": nil, "mktemp": nil}
	for _, c := range calls {
		key := c.Name
		if len(c.Args) > 0 {
			key += " " + c.Args[0]
		}
		w, ok := want[key]
		if !ok {
			t.Errorf("unexpected call %q", key)
			continue
		}
		if !slices.Equal(c.Writes, w) {
			t.Errorf("%s: writes %q, want %q", key, c.Writes, w)
		}
	}
}

// TestStepFacts: what the engine reads from a step's calls for one cache
// path: removal (also by a glob over a parent, ~ and a relative path at a
// known directory), writes into it, and nothing for words that merely
// mention it.
func TestStepFacts(t *testing.T) {
	root := Account{UID: 0, UIDKnown: true, home: "/root", homeKnown: true, Name: "root"}
	cases := []struct {
		run, target     string
		destroy, writes bool
		opaque          bool
	}{
		{run: "go build && rm -rf /root/.cache/go-build", target: "/root/.cache/go-build", destroy: true},
		{run: "rm -rf ~/.npm", target: "/root/.npm", destroy: true},
		{run: "rm -rf /root/.cache", target: "/root/.cache/go-build", destroy: true},
		{run: "cd /tmp && rm -rf *", target: "/tmp/c", destroy: true},
		{run: "rm -rf .npm", target: "/app/.npm", destroy: true},
		{run: "rm /go/pkg/mod/cache/x.lock", target: "/go/pkg/mod", writes: true},
		{run: "find /go/pkg/mod -name '*.tmp' -delete", target: "/go/pkg/mod", destroy: true},
		{run: "sed -i s/a/b/ $GOPATH/pkg/mod/x/y.go", target: "/go/pkg/mod", writes: true},
		{run: "sed s/a/b/ $GOPATH/pkg/mod/x/y.go > /out/y.go", target: "/go/pkg/mod"},
		{run: "cd /go/pkg/mod/x@v1 && patch -p1 < /fix.patch", target: "/go/pkg/mod", writes: true},
		{run: "cp fix.go /go/pkg/mod/x@v1/", target: "/go/pkg/mod", writes: true},
		{run: "echo see pkg/mod docs /go/pkg/mod", target: "/go/pkg/mod"},
		{run: "rm -rf /go/pkg/modules", target: "/go/pkg/mod"},
		{run: "make build", target: "/go/pkg/mod", opaque: true},
		{run: "./build.sh", target: "/go/pkg/mod", opaque: true},
		{run: "npm run build", target: "/go/pkg/mod", opaque: true},
		{run: "npm ci && apt-get install -y git", target: "/go/pkg/mod"},
	}
	for _, c := range cases {
		runs, shells := dftest.MustRuns(t, "FROM x\nRUN "+c.run+"\n")
		env := map[string]string{"GOPATH": "/go"}
		calls, err := shellscan.RunCalls(runs[0], shells[0], env)
		if err != nil {
			t.Fatal(err)
		}
		rs := &RunStep{Cmd: runs[0], Line: 2, Env: env, Workdir: "/app", Calls: calls, Acc: root, existing: map[string]bool{}}
		a := &Analysis{}
		v := a.StepVerdict(rs, CacheSpec{Target: c.target})
		gotDestroy := !v.Ok && v.Rule == RuleCacheDestroyer
		gotWrites := !v.Ok && v.Rule == RuleCacheWriter
		if gotDestroy != c.destroy || gotWrites != c.writes {
			t.Errorf("RUN %s on %s: verdict %+v, want destroy=%v writes=%v", c.run, c.target, v, c.destroy, c.writes)
		}
		if got := len(a.Facts(rs).Opaque) > 0; got != c.opaque {
			t.Errorf("RUN %s: opaque=%v, want %v", c.run, got, c.opaque)
		}
	}
}
