package llbgen

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

func (d dirContext) ReadDir(_ context.Context, p string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(string(d), filepath.FromSlash(p)))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	return names, nil
}

// Ignored reads the case's .dockerignore, as the frontend does.
func (d dirContext) Ignored(_ context.Context, p string) (bool, error) {
	f, err := os.Open(filepath.Join(string(d), ".dockerignore"))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return false, err
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return false, err
	}
	return pm.MatchesOrParentMatches(p)
}

func (m memContext) ReadDir(_ context.Context, p string) ([]string, error) {
	seen := map[string]bool{}
	prefix := strings.TrimSuffix(p, "/") + "/"
	if p == "." || p == "" {
		prefix = ""
	}
	for k := range m {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if first, _, dir := strings.Cut(rest, "/"); dir {
			seen[first+"/"] = true
		} else {
			seen[first] = true
		}
	}
	if len(seen) == 0 {
		return nil, fs.ErrNotExist
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func (m memContext) Ignored(_ context.Context, p string) (bool, error) {
	return strings.Contains(p, "node_modules"), nil
}
