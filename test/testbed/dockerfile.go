package testbed

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// BaseImages returns the images a Dockerfile's FROMs name, each once,
// leaving out earlier stages, scratch and names built from ARGs.
func BaseImages(dockerfile string) ([]string, error) {
	dt, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, err
	}
	res, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dockerfile, err)
	}
	stages := map[string]bool{}
	seen := map[string]bool{}
	var out []string
	for _, n := range res.AST.Children {
		if !strings.EqualFold(n.Value, "from") || n.Next == nil {
			continue
		}
		base := n.Next.Value
		if !stages[strings.ToLower(base)] && base != "scratch" && !strings.Contains(base, "$") && !seen[base] {
			seen[base] = true
			out = append(out, base)
		}
		if as := n.Next.Next; as != nil && strings.EqualFold(as.Value, "as") && as.Next != nil {
			stages[strings.ToLower(as.Next.Value)] = true
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no base image found", dockerfile)
	}
	return out, nil
}
