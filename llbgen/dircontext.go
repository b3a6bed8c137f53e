package llbgen

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// DirContext is a build context in a local directory, as `hoist explain`
// reads it: what .dockerignore leaves out is not there, as in the build.
type DirContext struct {
	dir      string
	ignore   *patternmatcher.PatternMatcher
	patterns []string
}

// NewDirContext reads <Dockerfile>.dockerignore or <context>/.dockerignore,
// in the order BuildKit looks for them.
func NewDirContext(dir, dockerfile string) (*DirContext, error) {
	d := &DirContext{dir: dir}
	for _, p := range []string{dockerfile + ".dockerignore", filepath.Join(dir, ".dockerignore")} {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		d.patterns = patterns
		if d.ignore, err = patternmatcher.New(patterns); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		break
	}
	return d, nil
}

// hostPath is where context path p is on this machine, or an error
// wrapping fs.ErrNotExist when .dockerignore leaves it out.
func (d *DirContext) hostPath(p string) (string, error) {
	if d.ignore != nil {
		if ok, err := d.ignore.MatchesOrParentMatches(p); err != nil {
			return "", err
		} else if ok {
			return "", fmt.Errorf("%s is in .dockerignore: %w", p, fs.ErrNotExist)
		}
	}
	return filepath.Join(d.dir, filepath.FromSlash(p)), nil
}

func (d *DirContext) ReadFile(_ context.Context, p string) ([]byte, error) {
	hp, err := d.hostPath(p)
	if err != nil {
		return nil, err
	}
	dt, err := os.ReadFile(hp)
	return dt, notExist(err)
}

// notExist makes a path through a file (main.go/go.mod) a missing file, as
// the frontend's context reports it, not a failure.
func notExist(err error) error {
	if errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %w", err, fs.ErrNotExist)
	}
	return err
}

func (d *DirContext) ReadDir(_ context.Context, p string) ([]string, error) {
	hp, err := d.hostPath(p)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(hp)
	if err != nil {
		return nil, notExist(err)
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

func (d *DirContext) Ignored(_ context.Context, p string) (bool, error) {
	return IgnoredPath(d.patterns, p)
}

// MatchesAny reports whether the glob pattern matches one of names.
func MatchesAny(pattern string, names []string) bool {
	for _, n := range names {
		if ok, _ := path.Match(pattern, n); ok {
			return true
		}
	}
	return false
}

// IgnoredPath reports whether .dockerignore patterns leave p and
// everything under it out of the context. A negated pattern that could
// re-include something under p makes the answer false.
func IgnoredPath(patterns []string, p string) (bool, error) {
	p = path.Clean(p)
	var keep []string
	for _, pat := range patterns {
		if neg, ok := strings.CutPrefix(pat, "!"); ok {
			neg = path.Clean(strings.TrimPrefix(neg, "/"))
			if strings.Contains(neg, "**") || strings.HasPrefix(neg, p+"/") || Within(p, neg) {
				return false, nil
			}
			if m, _ := path.Match(neg, p); m {
				return false, nil
			}
		}
		keep = append(keep, pat)
	}
	if len(keep) == 0 {
		return false, nil
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return false, err
	}
	return pm.MatchesOrParentMatches(p)
}
