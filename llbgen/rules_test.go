package llbgen

import (
	"os"
	"regexp"
	"slices"
	"testing"
)

// TestRulesInREADME: README's rule table lists exactly the rules notes use.
func TestRulesInREADME(t *testing.T) {
	dt, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(hoist/[a-z-]+)` \\|").FindAllSubmatch(dt, -1) {
		listed = append(listed, string(m[1]))
	}
	var names []string
	for _, r := range Rules {
		names = append(names, r.Name)
	}
	if !slices.Equal(listed, names) {
		t.Errorf("README lists rules %v, rules.go has %v", listed, names)
	}
}
