package llbgen

import (
	"errors"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/solver/pb"
)

// LineMap maps lines of a rewritten Dockerfile back to the user's lines.
// Every rewritten line maps to exactly one user line: an inserted line maps
// to the instruction that caused it. The zero value is the identity.
type LineMap struct {
	// user[i] is the user's line for rewritten line i+1.
	user []int
	// edited[i] is true when rewritten line i+1 is not the user's text
	// verbatim, so columns on it say nothing about the user's line.
	edited []bool
	// at[i] is the user line rewritten line i+1 stands at (an inserted
	// line maps to the step that needs it, which may be another line), and
	// inserted[i] says it is not that user line itself; diffs and
	// explanations follow the text's order with them.
	at       []int
	inserted []bool
}

// pos returns the user line rewritten line n stands at, and whether n is
// a line hoist inserted there rather than that user line itself.
func (m *LineMap) pos(n int) (int, bool) {
	if m == nil || n < 1 || n > len(m.at) {
		return m.Line(n), false
	}
	return m.at[n-1], m.inserted[n-1]
}

// Identity reports whether the map changes no line.
func (m *LineMap) Identity() bool {
	if m == nil {
		return true
	}
	for i, l := range m.user {
		if l != i+1 || m.edited[i] {
			return false
		}
	}
	return true
}

// Line returns the user's line for rewritten line n (1-based).
func (m *LineMap) Line(n int) int {
	if m == nil || n < 1 || n > len(m.user) {
		return n
	}
	return m.user[n-1]
}

func (m *LineMap) isEdited(n int) bool {
	return m != nil && n >= 1 && n <= len(m.edited) && m.edited[n-1]
}

// Position maps a position of the rewritten text to the user's text.
func (m *LineMap) Position(p parser.Position) parser.Position {
	if m.isEdited(p.Line) {
		p.Character = 0
	}
	p.Line = m.Line(p.Line)
	return p
}

// Range maps a range of the rewritten text to the user's text.
func (m *LineMap) Range(r parser.Range) parser.Range {
	return parser.Range{Start: m.Position(r.Start), End: m.Position(r.End)}
}

// Ranges maps ranges of the rewritten text to the user's text.
func (m *LineMap) Ranges(rs []parser.Range) []parser.Range {
	if m.Identity() || rs == nil {
		return rs
	}
	out := make([]parser.Range, len(rs))
	for i, r := range rs {
		out[i] = m.Range(r)
	}
	return out
}

// PBRanges maps LLB source ranges in place.
func (m *LineMap) PBRanges(rs []*pb.Range) {
	if m.Identity() {
		return
	}
	for _, r := range rs {
		if r == nil || r.Start == nil || r.End == nil {
			continue
		}
		s := m.Position(parser.Position{Line: int(r.Start.Line), Character: int(r.Start.Character)})
		e := m.Position(parser.Position{Line: int(r.End.Line), Character: int(r.End.Character)})
		r.Start.Line, r.Start.Character = int32(s.Line), int32(s.Character)
		r.End.Line, r.End.Character = int32(e.Line), int32(e.Character)
	}
}

// Source maps the source locations of a marshalled LLB definition in place,
// so progress and solve errors name the user's lines.
func (m *LineMap) Source(src *pb.Source) {
	if src == nil || m.Identity() {
		return
	}
	for _, locs := range src.Locations {
		for _, l := range locs.GetLocations() {
			l.Ranges = l.CloneVT().Ranges // ops and the llb state share range pointers
			m.PBRanges(l.Ranges)
		}
	}
}

// Error maps the locations carried by a conversion error.
func (m *LineMap) Error(err error) error {
	if err == nil || m.Identity() {
		return err
	}
	var le *parser.LocationError
	if errors.As(err, &le) {
		for i, loc := range le.Locations {
			le.Locations[i] = m.Ranges(loc)
		}
	}
	return err
}
