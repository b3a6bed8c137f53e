package llbgen

import (
	"bufio"
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"google.golang.org/protobuf/proto"
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

// mappedUser is the user's Dockerfile for the rewritten-pipeline tests.
// COPY --link makes two ops (copy and merge) that share one source range.
const mappedUser = `FROM alpine:3.20
WORKDIR /src
RUN echo one
COPY --link a.txt /a.txt
RUN echo two
CMD echo shell form
`

// rewriteWith applies e to the user's text as Rewrite would.
func rewriteWith(user string, e *edits) *Result {
	dt, m := e.apply([]byte(user))
	return &Result{Dockerfile: dt, Lines: m}
}

// execLines returns, for every exec op in def, its shell command and the
// first line its source location names.
func execLines(t *testing.T, def *llb.Definition) map[string]int32 {
	t.Helper()
	lines := map[string]int32{}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			t.Fatal(err)
		}
		ex := op.GetExec()
		if ex == nil {
			continue
		}
		args := ex.GetMeta().GetArgs()
		locs := def.Source.GetLocations()[string(digest.FromBytes(dt))].GetLocations()
		if len(locs) == 0 || len(locs[0].Ranges) == 0 {
			t.Fatalf("exec %q has no source location", args)
		}
		lines[args[len(args)-1]] = locs[0].Ranges[0].Start.Line
	}
	return lines
}

// TestCompatRewrittenKeepsDigestsAndMapsLocations: a rewritten Dockerfile converts
// to the ops stock dockerfile2llb makes of the rewritten text, while source
// locations and warnings name the user's lines.
func TestCompatRewrittenKeepsDigestsAndMapsLocations(t *testing.T) {
	ctx := context.Background()
	var e edits
	e.insertBefore(3, "RUN true")
	e.ReplaceLine(5, "RUN --network=none echo two")
	rw := rewriteWith(mappedUser, &e)

	for _, set := range []compatOptionSet{
		{"default", convertCase{}},
		{"platform=linux-arm64", convertCase{TargetPlatform: &linuxARM64}},
	} {
		t.Run(set.name, func(t *testing.T) {
			got := convertRewritten(ctx, []byte(mappedUser), rw, set.c)
			stock := convertStock(ctx, rw.Dockerfile, set.c)
			if got.Err != nil || stock.Err != nil {
				t.Fatalf("hoist: %v, stock: %v", got.Err, stock.Err)
			}

			// Same ops, digests and metadata: only locations differ.
			for _, d := range diffDefinitions(stock.Def, got.Def) {
				if !strings.HasPrefix(d, "source map:") {
					t.Error(d)
				}
			}
			if !bytes.Equal(stock.Image, got.Image) {
				t.Errorf("image config differs:\n stock %s\n hoist %s", stock.Image, got.Image)
			}

			// (a) Every location names a line of the user's text, and
			// each op the line that caused it.
			if n := len(got.Def.Source.GetInfos()); n != 1 || string(got.Def.Source.Infos[0].Data) != mappedUser {
				t.Errorf("source map holds %d files, want the user's text", n)
			}
			userLines := int32(strings.Count(mappedUser, "\n"))
			for dgst, locs := range got.Def.Source.GetLocations() {
				for _, l := range locs.GetLocations() {
					for _, r := range l.Ranges {
						if r.Start.Line < 1 || r.End.Line > userLines || r.Start.Line > r.End.Line {
							t.Errorf("op %s: range %d-%d outside the user's %d lines", dgst, r.Start.Line, r.End.Line, userLines)
						}
					}
				}
			}
			// Each op's location is the stock location mapped through
			// the line map, exactly once.
			stockLocs := stock.Def.Source.GetLocations()
			for dgst, locs := range got.Def.Source.GetLocations() {
				want := stockLocs[dgst].GetLocations()
				if len(want) != len(locs.GetLocations()) {
					t.Errorf("op %s: %d locations, stock has %d", dgst, len(locs.GetLocations()), len(want))
					continue
				}
				for i, l := range locs.GetLocations() {
					for j, r := range l.Ranges {
						w := want[i].Ranges[j]
						if int(r.Start.Line) != rw.Lines.Line(int(w.Start.Line)) || int(r.End.Line) != rw.Lines.Line(int(w.End.Line)) {
							t.Errorf("op %s: range %d-%d, want stock %d-%d mapped to %d-%d", dgst, r.Start.Line, r.End.Line,
								w.Start.Line, w.End.Line, rw.Lines.Line(int(w.Start.Line)), rw.Lines.Line(int(w.End.Line)))
						}
					}
				}
			}
			want := map[string]int32{"true": 3, "echo one": 3, "echo two": 5}
			if lines := execLines(t, got.Def); !maps.Equal(lines, want) {
				t.Errorf("exec locations %v, want %v", lines, want)
			}
			// The stock conversion of the rewritten text says otherwise,
			// so the mapping above did something.
			if lines := execLines(t, stock.Def); lines["echo two"] != 6 {
				t.Errorf("stock exec locations %v: the edit did not move lines", lines)
			}

			// (c) Warnings name the user's lines.
			if len(got.Warnings) != 1 || got.Warnings[0].Rule != "JSONArgsRecommended" {
				t.Fatalf("warnings %+v, want one JSONArgsRecommended", got.Warnings)
			}
			if r := got.Warnings[0].Ranges; len(r) != 1 || r[0].Start.Line != 6 || r[0].End.Line != 6 {
				t.Errorf("warning ranges %v, want line 6", r)
			}
			if r := stock.Warnings[0].Ranges; r[0].Start.Line != 7 {
				t.Errorf("stock warning ranges %v, want line 7 of the rewritten text", r)
			}
		})
	}
}

// TestCompatRewrittenMarshalTwice: mapping locations must not change the state,
// which the frontend may marshal again (SBOM scans marshal the same state).
func TestCompatRewrittenMarshalTwice(t *testing.T) {
	ctx := context.Background()
	var e edits
	e.insertBefore(3, "RUN true")
	rw := rewriteWith(mappedUser, &e)
	c := convertCase{}.withDefaults()
	var out convertOutput
	res, err := Dockerfile2LLB(ctx, rw, c.convertOpt([]byte(mappedUser), &out))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Marshal(ctx, rw, res.State, marshalOpts...)
	if err != nil {
		t.Fatal(err)
	}
	firstSource := proto.Clone(first.Source)
	second, err := Marshal(ctx, rw, res.State, marshalOpts...)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(firstSource, first.Source) {
		t.Error("marshalling again changed the first definition's source map")
	}
	if !proto.Equal(first.Source, second.Source) {
		t.Errorf("source maps differ between two marshals:\n first %v\nsecond %v", first.Source, second.Source)
	}
}

// TestCompatRewrittenWarningOnInsertedLine: a warning about an inserted line is
// reported at the user's line that caused the insertion.
func TestCompatRewrittenWarningOnInsertedLine(t *testing.T) {
	var e edits
	e.insertBefore(4, "ENV LEGACY value")
	got := convertRewritten(context.Background(), []byte(mappedUser), rewriteWith(mappedUser, &e), convertCase{})
	if got.Err != nil {
		t.Fatal(got.Err)
	}
	lines := map[string][]int{}
	for _, w := range got.Warnings {
		for _, r := range w.Ranges {
			lines[w.Rule] = append(lines[w.Rule], r.Start.Line, r.End.Line)
		}
	}
	want := map[string][]int{"LegacyKeyValueFormat": {4, 4}, "JSONArgsRecommended": {6, 6}}
	if !equalJSON(lines, want) {
		t.Errorf("warning lines %v, want %v", lines, want)
	}
}

// TestCompatRewrittenErrorAtUserLine: (b) errors after an insertion name the
// user's line, both parse errors and errors from dispatch.
func TestCompatRewrittenErrorAtUserLine(t *testing.T) {
	for _, tc := range []struct {
		name, bad, msg string
	}{
		{"parse", "FOO bar", "unknown instruction: FOO"},
		{"dispatch", "RUN --mount=type=bogus true", `unsupported mount type "bogus"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := strings.Replace(mappedUser, "RUN echo two", tc.bad, 1)
			var e edits
			e.insertBefore(3, "RUN true", "RUN true")
			rw := rewriteWith(user, &e)
			got := convertRewritten(context.Background(), []byte(user), rw, convertCase{})
			stock := convertStock(context.Background(), rw.Dockerfile, convertCase{})
			if got.Err == nil || stock.Err == nil {
				t.Fatalf("no error: hoist %v, stock %v", got.Err, stock.Err)
			}
			if !strings.Contains(got.Err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", got.Err, tc.msg)
			}
			want := [][]parser.Range{{rng(5, 0, 5, 0)}}
			if l := locationRanges(got.Err); !equalJSON(l, want) {
				t.Errorf("error locations %v, want %v", l, want)
			}
			if l := locationRanges(stock.Err); l[0][0].Start.Line != 7 {
				t.Errorf("stock error locations %v, want line 7 of the rewritten text", l)
			}
		})
	}
}

// TestCompatRewrittenParseErrorMessageLine: the text of a parse error names the
// user's line too, not only its location.
func TestCompatRewrittenParseErrorMessageLine(t *testing.T) {
	t.Skip("BUG(llbgen): parse error text keeps the rewritten line (\"dockerfile parse error on line 7\"); LineMap.Error maps only locations; see report")
	user := strings.Replace(mappedUser, "RUN echo two", "FOO bar", 1)
	var e edits
	e.insertBefore(3, "RUN true", "RUN true")
	got := convertRewritten(context.Background(), []byte(user), rewriteWith(user, &e), convertCase{})
	if got.Err == nil || !strings.Contains(got.Err.Error(), "on line 5:") {
		t.Errorf("error %v, want it on line 5", got.Err)
	}
}
