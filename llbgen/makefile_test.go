package llbgen

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestMakeArgs(t *testing.T) {
	dir, file, vars, goals := makeArgs([]string{"-j4", "-C", "cmd/app", "--file=build.mk", "GO=go1.22", "-s", "-o", "x", "build", "test"})
	if dir != "cmd/app" || file != "build.mk" || !reflect.DeepEqual(vars, map[string]string{"GO": "go1.22"}) || !reflect.DeepEqual(goals, []string{"build", "test"}) {
		t.Fatalf("got %q %q %v %v", dir, file, vars, goals)
	}
	dir, _, _, goals = makeArgs([]string{"-Csrc", "-C", "/abs"})
	if dir != "/abs" || goals != nil {
		t.Fatalf("got %q %v", dir, goals)
	}
	for _, args := range [][]string{{"--makefile", "b.mk", "all"}, {"--makefile=b.mk", "all"}, {"-fb.mk", "all"}, {"--file", "b.mk", "all"}} {
		if _, file, _, goals := makeArgs(args); file != "b.mk" || !reflect.DeepEqual(goals, []string{"all"}) {
			t.Errorf("%q: file %q, goals %v", args, file, goals)
		}
	}
}

func TestMakeScripts(t *testing.T) {
	files := map[string]string{"common.mk": "clean:\n\trm -rf $(OUT)\n"}
	for _, tc := range []struct {
		name, text string
		goals      []string
		env, cmd   map[string]string
		want       []string
	}{
		{
			name: "default goal and prerequisites",
			text: ".PHONY: all\nGO ?= go\nall: gen build\n\ngen:\n\t@$(GO) generate ./...\nbuild: ; $(GO) build -o $@ .\nother:\n\trm -rf /go/pkg/mod\n",
			want: []string{"go generate ./...", "go build -o build ."},
		},
		{
			name: "env and command line override ?=",
			text: "GO ?= go\nOUT := bin\nb:\n\t$(GO) build -o $(OUT)/x $${HOME}\n",
			env:  map[string]string{"GO": "/usr/local/go/bin/go"}, cmd: map[string]string{"OUT": "dist"},
			want: []string{"/usr/local/go/bin/go build -o dist/x ${HOME}"},
		},
		{
			name:  "recursive make, include, functions",
			text:  "OUT = out\ninclude common.mk\nrelease:\n\t-$(MAKE) clean\n\techo $(shell go env GOMODCACHE) $(wildcard *.go) $(SRC:.c=.o)\nSRC = a.c b.c\n",
			goals: []string{"release"},
			want:  []string{"make clean", "echo $(go env GOMODCACHE) ${HOIST_MAKE_UNKNOWN} a.o b.o", "rm -rf out"},
		},
		{
			name:  "pattern rule, canned recipe, continuation, target-specific variable",
			text:  "define BUILD\ngo vet ./...\ngo build \\\n  -o $@ .\nendef\napp: GOFLAGS = -mod=vendor\nbin/%: %.go\n\t$(BUILD)\n",
			goals: []string{"bin/app"},
			want:  []string{"go vet ./...", "go build -o bin/app ."},
		},
		{
			name:  "a goal hoist cannot expand may be any",
			text:  "build:\n\tgo build\nclean:\n\tgo clean -modcache\n",
			goals: []string{"${TARGET}"},
			want:  []string{"go build", "go clean -modcache"},
		},
		{
			name: "oneshell",
			text: ".ONESHELL:\nb:\n\tcd sub\n\tgo build\n",
			want: []string{"cd sub\ngo build"},
		},
		{
			name:  "pattern rules feeding themselves stop",
			text:  "%: %.x\n\ttouch $@\n",
			goals: []string{"a"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &makefile{vars: map[string]string{}, cmdline: tc.cmd, env: tc.env, read: func(n string) ([]byte, bool) {
				s, ok := files[n]
				return []byte(s), ok
			}}
			if m.cmdline == nil {
				m.cmdline = map[string]string{}
			}
			m.parse(tc.text, 0)
			got := m.scripts(tc.goals)
			if tc.want == nil {
				if len(got) != maxMakeGoals+1 {
					t.Fatalf("want the goal bound, got %d scripts", len(got))
				}
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n--\n"), strings.Join(tc.want, "\n--\n"))
			}
		})
	}
}

func FuzzMakefile(f *testing.F) {
	f.Add("all: b\nb:\n\t$(GO) build\n", "all")
	f.Add("define X\n$(X)$(X)\nendef\na:\n\t$(X)\n", "a")
	f.Fuzz(func(t *testing.T, text, goal string) {
		m := &makefile{vars: map[string]string{}, cmdline: map[string]string{}, read: func(string) ([]byte, bool) { return []byte(text), true }}
		m.parse(text, 0)
		m.scripts(strings.Fields(goal))
	})
}

// TestMakeBudget: makefiles whose reading would take far longer than make's
// (nested variables in an untaken branch, include guards) stop at the budget
// or at one reading per file.
func TestMakeBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("A0 = " + strings.Repeat("x", 8000) + "\n")
	for k := 1; k <= 16; k++ {
		b.WriteString("A" + strconv.Itoa(k) + " = " + strings.Repeat("$(A"+strconv.Itoa(k-1)+")", 9) + "\n")
	}
	b.WriteString("B = hello\nifdef V\nB = $(A16)\nendif\nbuild:\n\techo $(B)\n")
	m := &makefile{vars: map[string]string{}, cmdline: map[string]string{}, read: func(string) ([]byte, bool) { return nil, false }}
	done := make(chan bool)
	go func() {
		m.parse(b.String(), 0)
		m.scripts(nil)
		done <- m.over()
	}()
	select {
	case over := <-done:
		if !over {
			t.Errorf("the nested expansion stayed under the budget; the test proves nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading the makefile did not stop")
	}

	files := map[string]string{}
	for i := 0; i < 40; i++ {
		var inc []string
		for j := 0; j < 40; j++ {
			inc = append(inc, "f"+strconv.Itoa(j)+".mk")
		}
		files["f"+strconv.Itoa(i)+".mk"] = "ifndef F" + strconv.Itoa(i) + "\nF" + strconv.Itoa(i) + " := 1\ninclude " + strings.Join(inc, " ") + "\nendif\n"
	}
	reads := 0
	m = &makefile{vars: map[string]string{}, cmdline: map[string]string{}, read: func(n string) ([]byte, bool) {
		reads++
		s, ok := files[n]
		return []byte(s), ok
	}}
	m.parse("include f0.mk\nbuild:\n\tgo build\n", 0)
	if got := m.scripts(nil); reads != 40 || len(got) != 1 {
		t.Errorf("read %d files (want 40, once each), scripts %q", reads, got)
	}
}
