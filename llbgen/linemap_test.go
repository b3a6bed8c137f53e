package llbgen

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/pb"
)

func pos(line, char int) parser.Position { return parser.Position{Line: line, Character: char} }

func rng(sl, sc, el, ec int) parser.Range { return parser.Range{Start: pos(sl, sc), End: pos(el, ec)} }

// testLineMap maps a rewritten file where user line 3 got two inserted lines
// before it and user line 5 was replaced:
//
//	rewritten 1 2 3 4 5 6 7
//	user      1 2 3 3 3 4 5
//	edited    - - x x - - x
func testLineMap(t *testing.T) *LineMap {
	t.Helper()
	var e edits
	e.insertBefore(3, "RUN i1", "RUN i2")
	e.ReplaceLine(5, "RUN replaced")
	_, m := e.apply([]byte("FROM a\nWORKDIR /w\nRUN x\nCOPY a b\nRUN y\n"))
	if want := []int{1, 2, 3, 3, 3, 4, 5}; !slices.Equal(m.user, want) {
		t.Fatalf("map user lines %v, want %v", m.user, want)
	}
	return m
}

func TestLineMapNil(t *testing.T) {
	var m *LineMap
	if !m.Identity() {
		t.Error("nil map is not the identity")
	}
	if m.Line(7) != 7 {
		t.Errorf("nil map: Line(7) = %d", m.Line(7))
	}
	if p := m.Position(pos(4, 9)); p != pos(4, 9) {
		t.Errorf("nil map: Position = %v", p)
	}
	rs := []parser.Range{rng(2, 3, 4, 5)}
	if got := m.Ranges(rs); &got[0] != &rs[0] {
		t.Error("nil map: Ranges copied its input")
	}
	if m.Ranges(nil) != nil {
		t.Error("nil map: Ranges(nil) is not nil")
	}
	err := parser.WithLocation(errors.New("boom"), []parser.Range{rng(3, 0, 3, 0)})
	if m.Error(err) != err || locationRanges(err)[0][0] != rng(3, 0, 3, 0) {
		t.Error("nil map changed an error")
	}
	m.Source(&pb.Source{Locations: map[string]*pb.Locations{"x": {Locations: []*pb.Location{{Ranges: []*pb.Range{{Start: &pb.Position{Line: 3}, End: &pb.Position{Line: 3}}}}}}}})
	m.Source(nil)
}

func TestLineMapIdentity(t *testing.T) {
	for _, tc := range []struct {
		m    *LineMap
		want bool
	}{
		{&LineMap{}, true},
		{&LineMap{user: []int{1, 2, 3}, edited: []bool{false, false, false}}, true},
		{&LineMap{user: []int{1, 2, 2}, edited: []bool{false, true, false}}, false},
		{&LineMap{user: []int{1, 2, 3}, edited: []bool{false, true, false}}, false}, // replaced in place
	} {
		if got := tc.m.Identity(); got != tc.want {
			t.Errorf("%v.Identity() = %v, want %v", tc.m, got, tc.want)
		}
	}
	p := pos(2, 5)
	if got := (&LineMap{user: []int{1, 2}, edited: []bool{false, false}}).Position(p); got != p {
		t.Errorf("identity map moved %v to %v", p, got)
	}
}

func TestLineMapLines(t *testing.T) {
	m := testLineMap(t)
	for rewritten, user := range map[int]int{1: 1, 2: 2, 3: 3, 4: 3, 5: 3, 6: 4, 7: 5} {
		if got := m.Line(rewritten); got != user {
			t.Errorf("Line(%d) = %d, want %d", rewritten, got, user)
		}
	}
}

func TestLineMapPositions(t *testing.T) {
	m := testLineMap(t)
	for _, tc := range []struct{ in, want parser.Position }{
		{pos(2, 4), pos(2, 4)}, // unchanged line: character kept
		{pos(3, 4), pos(3, 0)}, // inserted line: maps to its cause, character reset
		{pos(4, 2), pos(3, 0)},
		{pos(5, 6), pos(3, 6)}, // the user's line 3 itself, shifted
		{pos(6, 1), pos(4, 1)},
		{pos(7, 8), pos(5, 0)}, // replaced line: character reset
	} {
		if got := m.Position(tc.in); got != tc.want {
			t.Errorf("Position(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	in := []parser.Range{rng(4, 1, 6, 3), rng(7, 2, 7, 9)}
	want := []parser.Range{rng(3, 0, 4, 3), rng(5, 0, 5, 0)}
	got := m.Ranges(in)
	if !slices.Equal(got, want) {
		t.Errorf("Ranges = %v, want %v", got, want)
	}
	if in[0] != rng(4, 1, 6, 3) {
		t.Error("Ranges changed its input")
	}
}

func TestLineMapPBRanges(t *testing.T) {
	m := testLineMap(t)
	rs := []*pb.Range{
		{Start: &pb.Position{Line: 5, Character: 2}, End: &pb.Position{Line: 6, Character: 7}},
		nil,
		{Start: nil, End: &pb.Position{Line: 4}},
		{Start: &pb.Position{Line: 7, Character: 3}, End: &pb.Position{Line: 7, Character: 9}},
	}
	m.PBRanges(rs)
	if got := fmt.Sprint(rs[0].Start.Line, rs[0].Start.Character, rs[0].End.Line, rs[0].End.Character); got != "3 2 4 7" {
		t.Errorf("range 0 mapped to %s", got)
	}
	if rs[2].End.Line != 4 {
		t.Error("a range without a start was changed")
	}
	if got := fmt.Sprint(rs[3].Start.Line, rs[3].Start.Character, rs[3].End.Line, rs[3].End.Character); got != "5 0 5 0" {
		t.Errorf("range 3 mapped to %s", got)
	}
}

func TestLineMapSource(t *testing.T) {
	m := testLineMap(t)
	src := &pb.Source{Locations: map[string]*pb.Locations{
		"sha256:a": {Locations: []*pb.Location{{Ranges: []*pb.Range{{Start: &pb.Position{Line: 6}, End: &pb.Position{Line: 6}}}}}},
		"sha256:b": {Locations: []*pb.Location{
			{Ranges: []*pb.Range{{Start: &pb.Position{Line: 4}, End: &pb.Position{Line: 4}}}},
			{Ranges: []*pb.Range{{Start: &pb.Position{Line: 1}, End: &pb.Position{Line: 7}}}},
		}},
		"sha256:c": nil,
	}}
	m.Source(src)
	var got []string
	for _, k := range []string{"sha256:a", "sha256:b"} {
		for _, l := range src.Locations[k].Locations {
			for _, r := range l.Ranges {
				got = append(got, fmt.Sprintf("%s:%d-%d", k, r.Start.Line, r.End.Line))
			}
		}
	}
	if want := []string{"sha256:a:4-4", "sha256:b:3-3", "sha256:b:1-5"}; !slices.Equal(got, want) {
		t.Errorf("mapped %v, want %v", got, want)
	}
}

func TestLineMapError(t *testing.T) {
	m := testLineMap(t)
	err := parser.WithLocation(errors.New("boom"), []parser.Range{rng(6, 0, 7, 0)})
	err = parser.WithLocation(err, []parser.Range{rng(4, 0, 4, 0)})
	wrapped := fmt.Errorf("convert: %w", err)
	if got := m.Error(wrapped); got != wrapped {
		t.Error("Error replaced the error instead of mapping it")
	}
	want := [][]parser.Range{{rng(4, 0, 5, 0)}, {rng(3, 0, 3, 0)}}
	if got := locationRanges(wrapped); !equalJSON(got, want) {
		t.Errorf("locations %v, want %v", got, want)
	}
	plain := errors.New("no location")
	if m.Error(plain) != plain || m.Error(nil) != nil {
		t.Error("Error changed an error without locations")
	}
}

// TestDiffOrder: a hoisted download maps to the RUN that needs it, yet the
// diff and the explanation show it where it stands, before the COPY.
func TestDiffOrder(t *testing.T) {
	dir := "testdata/rewrite/layer-cache-naive"
	dt, err := os.ReadFile(dir + "/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	rw := rewriteCase(t, dir, dt)
	if got := rw.Lines.Line(4); got != 4 {
		t.Fatalf("the inserted download maps to line %d, want the RUN's line 4", got)
	}
	var b strings.Builder
	if err := WriteDiff(&b, "Dockerfile", dt, rw); err != nil {
		t.Fatal(err)
	}
	want := " WORKDIR /src\n+COPY go.mod go.sum /src/\n+RUN go mod download\n COPY . .\n-RUN CGO_ENABLED=0 go build"
	if !strings.Contains(b.String(), want) {
		t.Errorf("diff:\n%s\nwant it to contain:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteExplained(&b, rw); err != nil {
		t.Fatal(err)
	}
	want = "# hoist: line 3: go mod download hoisted before this COPY: copies go.mod, go.sum first (for RUN at line 4); no module cache mount: the build imports a layer cache (--cache-from), which carries layers but not what cache mounts hold, so the modules stay in its layer [hoist/download-in-layer]\nCOPY go.mod go.sum /src/\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("explanation:\n%s\nwant it to contain:\n%s", b.String(), want)
	}
}
