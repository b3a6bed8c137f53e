package llbgen

import (
	"maps"
	"testing"
)

func TestParseAssignments(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string // nil: refused
	}{
		{"A=1 B=2 ", map[string]string{"A": "1", "B": "2"}},
		{"GOFLAGS='-mod=mod -count=1' ", map[string]string{"GOFLAGS": "-mod=mod -count=1"}},
		{"A='x y' B=z", map[string]string{"A": "x y", "B": "z"}},
		{"A=", map[string]string{"A": ""}},
		{"A='unterminated", nil},
		{"A='x'y", nil},
		{"=1", nil},
		{"not-an-assignment", nil},
		{"", nil},
	} {
		got, ok := parseAssignments(tc.in)
		if ok != (tc.want != nil) || !maps.Equal(got, tc.want) {
			t.Errorf("parseAssignments(%q) = %v, %v; want %v", tc.in, got, ok, tc.want)
		}
	}
}
