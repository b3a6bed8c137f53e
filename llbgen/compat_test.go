package llbgen

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// The compatibility corpus: Dockerfiles hoist must not change. Each case is
// testdata/compat/<case>/Dockerfile plus the context files it names and an
// optional buildargs file (KEY=VALUE lines) used by the "args" option set.
// Cases named err-* must fail to convert, warn-* must produce warnings.
const compatDir = "testdata/compat"

// minCompatCases guards against the corpus silently shrinking.
const minCompatCases = 35

// rewrittenTools are the commands hoist rewrites by design; a corpus case
// running one of them would legitimately convert differently.
var rewrittenTools = regexp.MustCompile(`\b(go|npm|yarn|pnpm|npx|corepack)\b`)

type compatCase struct {
	name       string
	dockerfile []byte
	buildArgs  map[string]string
}

func loadCompatCorpus(t *testing.T) []compatCase {
	t.Helper()
	entries, err := os.ReadDir(compatDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []compatCase
	for _, e := range entries {
		if !e.IsDir() {
			t.Errorf("%s: stray file in corpus", e.Name())
			continue
		}
		dir := filepath.Join(compatDir, e.Name())
		dt, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Errorf("case %s: %v", e.Name(), err)
			continue
		}
		args, err := readBuildArgs(filepath.Join(dir, "buildargs"))
		if err != nil {
			t.Errorf("case %s: %v", e.Name(), err)
			continue
		}
		cases = append(cases, compatCase{name: e.Name(), dockerfile: dt, buildArgs: args})
	}
	return cases
}

func readBuildArgs(path string) (map[string]string, error) {
	dt, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	args := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			args[k] = v
		}
	}
	return args, sc.Err()
}

type compatOptionSet struct {
	name string
	c    convertCase
}

var (
	linuxAMD64 = ocispecs.Platform{OS: "linux", Architecture: "amd64"}
	linuxARM64 = ocispecs.Platform{OS: "linux", Architecture: "arm64"}
)

// compatOptionSets are the conversions each case is checked under: what
// the frontend passes for a default build, each named --target, an unknown
// target, explicit and multi-platform targets, another build platform,
// and build args.
func compatOptionSets(ctx context.Context, cc compatCase) []compatOptionSet {
	args := map[string]string{
		"HTTP_PROXY": "http://proxy.invalid:3128",
		"no_proxy":   "localhost",
	}
	for k, v := range cc.buildArgs {
		args[k] = v
	}
	sets := []compatOptionSet{
		{"default", convertCase{}},
		{"platform=linux-amd64", convertCase{TargetPlatform: &linuxAMD64}},
		{"platform=linux-arm64", convertCase{TargetPlatform: &linuxARM64}},
		{"multiplatform-arm64", convertCase{
			TargetPlatform:  &linuxARM64,
			TargetPlatforms: []ocispecs.Platform{linuxAMD64, linuxARM64},
			MultiPlatform:   true,
		}},
		{"buildplatform=linux-arm64", convertCase{TargetPlatform: &linuxAMD64, BuildPlatform: linuxARM64}},
		{"args", convertCase{BuildArgs: args}},
		{"target=nosuchstage", convertCase{Target: "nosuchstage"}},
	}
	// Files that do not parse have no targets; their errors are covered above.
	if l, err := dockerfile2llb.ListTargets(ctx, cc.dockerfile); err == nil {
		for _, tg := range l.Targets {
			if tg.Name != "" {
				sets = append(sets, compatOptionSet{"target=" + tg.Name, convertCase{Target: tg.Name, BuildArgs: args}})
			}
		}
	}
	return sets
}

// TestCompatCorpus checks hoist's promise: a Dockerfile without Go/Node
// package manager steps converts to exactly what the stock frontend
// produces — definitions, image config, warnings and errors.
func TestCompatCorpus(t *testing.T) {
	ctx := context.Background()
	for _, cc := range loadCompatCorpus(t) {
		t.Run(cc.name, func(t *testing.T) {
			t.Parallel()
			for _, set := range compatOptionSets(ctx, cc) {
				t.Run(set.name, func(t *testing.T) {
					want := convertStock(ctx, cc.dockerfile, set.c)
					got, _ := convertHoist(ctx, cc.dockerfile, set.c)
					requireSame(t, want, got)

					if set.name != "default" {
						return
					}
					// The comparison only means something if the stock
					// conversion is itself deterministic.
					if d := diffOutputs(want, convertStock(ctx, cc.dockerfile, set.c)); len(d) > 0 {
						t.Errorf("stock conversion is not deterministic: %v", d)
					}
					// Keep each case doing what its name says.
					switch {
					case strings.HasPrefix(cc.name, "err-") && want.Err == nil:
						t.Errorf("err- case converts without error")
					case !strings.HasPrefix(cc.name, "err-") && want.Err != nil:
						t.Errorf("case fails to convert: %v", want.Err)
					case strings.HasPrefix(cc.name, "warn-") && len(want.Warnings) == 0:
						t.Errorf("warn- case produces no warnings")
					}
				})
			}
		})
	}
}

// TestCompatCorpusSize keeps deletions from weakening TestCompatCorpus.
func TestCompatCorpusSize(t *testing.T) {
	cases := loadCompatCorpus(t)
	if len(cases) < minCompatCases {
		t.Fatalf("compat corpus has %d cases, want at least %d", len(cases), minCompatCases)
	}
	var errs, warns int
	for _, c := range cases {
		switch {
		case strings.HasPrefix(c.name, "err-"):
			errs++
		case strings.HasPrefix(c.name, "warn-"):
			warns++
		}
	}
	if errs < 5 || warns < 3 {
		t.Errorf("compat corpus has %d err- and %d warn- cases, want at least 5 and 3", errs, warns)
	}
}

// TestCompatCorpusAvoidsRewrittenTools keeps Go/Node package manager steps,
// which hoist rewrites on purpose, out of the corpus.
func TestCompatCorpusAvoidsRewrittenTools(t *testing.T) {
	for _, c := range loadCompatCorpus(t) {
		for i, line := range strings.Split(string(c.dockerfile), "\n") {
			if m := rewrittenTools.FindString(line); m != "" {
				t.Errorf("%s/Dockerfile:%d runs %q, which hoist rewrites: %s", c.name, i+1, m, line)
			}
		}
	}
	for _, s := range []string{"RUN go build", "RUN npm ci", "RUN yarn", "RUN pnpm i", "RUN npx x", "RUN corepack enable"} {
		if !rewrittenTools.MatchString(s) {
			t.Errorf("rewrittenTools does not match %q", s)
		}
	}
}
