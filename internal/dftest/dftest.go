// Package dftest parses Dockerfile text for tests, exactly as the frontend
// does, into its RUN instructions.
package dftest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Runs returns the RUN instructions of df with the SHELL in effect for
// each (nil: the default).
func Runs(df string) ([]*instructions.RunCommand, [][]string, error) {
	res, err := parser.Parse(strings.NewReader(df))
	if err != nil {
		return nil, nil, fmt.Errorf("parse: %w", err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("instructions: %w", err)
	}
	var runs []*instructions.RunCommand
	var shells [][]string
	for _, st := range stages {
		var shell []string
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.ShellCommand:
				shell = c.Shell
			case *instructions.RunCommand:
				runs = append(runs, c)
				shells = append(shells, shell)
			}
		}
	}
	return runs, shells, nil
}

// MustRuns is Runs, failing t on an error.
func MustRuns(t testing.TB, df string) ([]*instructions.RunCommand, [][]string) {
	t.Helper()
	runs, shells, err := Runs(df)
	if err != nil {
		t.Fatal(err)
	}
	return runs, shells
}

// Run returns the one RUN line run (a Dockerfile line, "RUN ...") with the
// default shell.
func Run(t testing.TB, run string) (*instructions.RunCommand, []string) {
	t.Helper()
	runs, shells := MustRuns(t, "FROM scratch\n"+run+"\n")
	if len(runs) != 1 {
		t.Fatalf("%q: %d RUNs", run, len(runs))
	}
	return runs[0], shells[0]
}
