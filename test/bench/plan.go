package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hoistbuild/hoist/test/testbed"
)

// plan is what the benchmark does with one example, decided once so every
// repetition and variant makes the same change.
type plan struct {
	Name  string
	Dir   string   // example directory in the checkout
	Bases []string // base images of the naive and optimized Dockerfiles
	Edit  string   // source file (relative) that gets a comment appended
	Bump  *bump    // nil: no dependency change possible (BumpWhy says why)

	BumpWhy string
}

// bump is one dependency version change made on the host copy.
type bump struct {
	Kind     string // "go" or "npm"
	Dir      string // relative directory holding go.mod or package-lock.json
	Pkg      string
	From, To string
	Vendor   bool // go: vendor/ must be regenerated
}

func (b *bump) String() string {
	dir := ""
	if b.Dir != "." {
		dir = " in " + b.Dir + "/"
	}
	return fmt.Sprintf("%s %s %s → %s%s", b.Kind, b.Pkg, b.From, b.To, dir)
}

// examplesWithOptimized lists examples/* having a Dockerfile.optimized.
func examplesWithOptimized(repo string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(repo, "examples", "*", "Dockerfile.optimized"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range m {
		names = append(names, filepath.Base(filepath.Dir(p)))
	}
	sort.Strings(names)
	return names, nil
}

func makePlan(ctx context.Context, repo, name string) (*plan, error) {
	dir := filepath.Join(repo, "examples", name)
	p := &plan{Name: name, Dir: dir}
	seen := map[string]bool{}
	for _, df := range []string{"Dockerfile", "Dockerfile.optimized"} {
		bases, err := testbed.BaseImages(filepath.Join(dir, df))
		if err != nil {
			return nil, err
		}
		for _, b := range bases {
			if !seen[b] {
				seen[b] = true
				p.Bases = append(p.Bases, b)
			}
		}
	}
	var err error
	if p.Edit, err = editTarget(dir); err != nil {
		return nil, err
	}
	if p.Bump, p.BumpWhy, err = chooseBump(ctx, dir); err != nil {
		return nil, fmt.Errorf("%s: choosing a dependency to change: %w", name, err)
	}
	return p, nil
}

// skipDir: directories never holding the sources the Dockerfile compiles.
func skipDir(name string) bool {
	return name == "vendor" || name == "node_modules" || name == "dist" || strings.HasPrefix(name, ".")
}

// editTarget picks the source file a developer would touch: the shallowest
// main.go, else any .go, else main.ts(x), else any .ts/.tsx/.js/.jsx
// (tests and declarations aside). All take a // comment.
func editTarget(dir string) (string, error) {
	rank := func(rel string) int {
		switch b := filepath.Base(rel); {
		case b == "main.go":
			return 0
		case strings.HasSuffix(b, ".go") && !strings.HasSuffix(b, "_test.go"):
			return 1
		case b == "main.ts", b == "main.tsx":
			return 2
		case strings.Contains(b, ".test.") || strings.Contains(b, ".spec.") || strings.HasSuffix(b, ".d.ts"):
			return -1
		case strings.HasSuffix(b, ".ts"), strings.HasSuffix(b, ".tsx"), strings.HasSuffix(b, ".js"), strings.HasSuffix(b, ".jsx"):
			return 3
		}
		return -1
	}
	best, bestRank, bestDepth := "", 99, 99
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		r := rank(rel)
		depth := strings.Count(rel, string(filepath.Separator))
		if r >= 0 && (r < bestRank || r == bestRank && depth < bestDepth) {
			best, bestRank, bestDepth = rel, r, depth
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if best == "" {
		return "", fmt.Errorf("%s: no .go/.ts/.js source file to edit", dir)
	}
	return best, nil
}

// findFile returns the shallowest relative directory holding name.
func findFile(dir, name string) (string, error) {
	found, depth := "", 99
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == name {
			rel, _ := filepath.Rel(dir, filepath.Dir(p))
			if n := strings.Count(rel, string(filepath.Separator)); rel == "." {
				found, depth = rel, -1
			} else if n < depth {
				found, depth = rel, n
			}
		}
		return nil
	})
	return found, err
}

// chooseBump changes the first direct dependency (Go preferred, then npm)
// to the release just before its current one: an older release is certain
// to build with the pinned toolchains, a newer one is not.
func chooseBump(ctx context.Context, dir string) (*bump, string, error) {
	if rel, err := findFile(dir, "go.mod"); err != nil {
		return nil, "", err
	} else if rel != "" {
		b, err := goBump(ctx, dir, rel)
		return b, "", err
	}
	if rel, err := findFile(dir, "package-lock.json"); err != nil {
		return nil, "", err
	} else if rel != "" {
		b, err := npmBump(ctx, dir, rel)
		return b, "", err
	}
	return nil, "no go.mod or package-lock.json (pnpm/yarn lockfiles need their own tools on the host)", nil
}

func goBump(ctx context.Context, dir, rel string) (*bump, error) {
	mdir := filepath.Join(dir, rel)
	out, err := testbed.HostCmd(ctx, mdir, "go", "mod", "edit", "-json")
	if err != nil {
		return nil, err
	}
	var mf struct {
		Require []struct {
			Path, Version string
			Indirect      bool
		}
	}
	if err := json.Unmarshal(out, &mf); err != nil {
		return nil, fmt.Errorf("go mod edit -json: %w", err)
	}
	for _, r := range mf.Require {
		if r.Indirect || strings.Count(r.Version, "-") >= 2 { // skip pseudo-versions
			continue
		}
		out, err := testbed.HostCmd(ctx, mdir, "go", "list", "-m", "-versions", r.Path)
		if err != nil {
			return nil, err
		}
		to := testbed.PreviousRelease(strings.Fields(string(out))[1:], r.Version)
		if to == "" {
			continue
		}
		_, verr := os.Stat(filepath.Join(mdir, "vendor"))
		return &bump{Kind: "go", Dir: rel, Pkg: r.Path, From: r.Version, To: to, Vendor: verr == nil}, nil
	}
	return nil, fmt.Errorf("%s/go.mod: no direct requirement with an earlier release", rel)
}

func npmBump(ctx context.Context, dir, rel string) (*bump, error) {
	pdir := filepath.Join(dir, rel)
	dt, err := os.ReadFile(filepath.Join(pdir, "package.json"))
	if err != nil {
		return nil, err
	}
	var pkg struct {
		Dependencies, DevDependencies map[string]string
	}
	if err := json.Unmarshal(dt, &pkg); err != nil {
		return nil, fmt.Errorf("%s/package.json: %w", rel, err)
	}
	for _, deps := range []map[string]string{pkg.Dependencies, pkg.DevDependencies} {
		names := make([]string, 0, len(deps))
		for n := range deps {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			cur := deps[n]
			if strings.ContainsAny(cur, "^~<>=*: ") { // only exact pins
				continue
			}
			out, err := testbed.HostCmd(ctx, pdir, "npm", "view", n, "versions", "--json")
			if err != nil {
				return nil, err
			}
			var vs []string
			if err := json.Unmarshal(out, &vs); err != nil {
				return nil, fmt.Errorf("npm view %s versions: %w", n, err)
			}
			var stable []string
			for _, v := range vs {
				if !strings.Contains(v, "-") {
					stable = append(stable, v)
				}
			}
			if to := testbed.PreviousRelease(stable, cur); to != "" {
				return &bump{Kind: "npm", Dir: rel, Pkg: n, From: cur, To: to}, nil
			}
		}
	}
	return nil, fmt.Errorf("%s/package.json: no exactly pinned dependency with an earlier release", rel)
}

// apply makes the dependency change in a copy of the example.
func (b *bump) apply(ctx context.Context, root string) error {
	dir := filepath.Join(root, b.Dir)
	switch b.Kind {
	case "go":
		if _, err := testbed.HostCmd(ctx, dir, "go", "get", b.Pkg+"@"+b.To); err != nil {
			return err
		}
		if _, err := testbed.HostCmd(ctx, dir, "go", "mod", "tidy"); err != nil {
			return err
		}
		if b.Vendor {
			if _, err := testbed.HostCmd(ctx, dir, "go", "mod", "vendor"); err != nil {
				return err
			}
		}
		return nil
	case "npm":
		_, err := testbed.HostCmd(ctx, dir, "npm", "install", "--package-lock-only", "--save-exact", "--no-audit", "--no-fund", b.Pkg+"@"+b.To)
		return err
	}
	return fmt.Errorf("unknown bump kind %q", b.Kind)
}

// copyTree copies an example into a fresh directory (regular files, dirs
// and symlinks; modes kept).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case info.Mode().IsRegular():
			dt, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, dt, info.Mode().Perm())
		}
		return errors.New("unsupported file type: " + p)
	})
}

// appendComment is the one-line source edit.
func appendComment(file, text string) error {
	dt, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if len(dt) > 0 && dt[len(dt)-1] != '\n' {
		dt = append(dt, '\n')
	}
	dt = append(dt, "// "+text+"\n"...)
	return os.WriteFile(file, dt, 0o644)
}

// diffTrees compares two exported filesystems file by file (mode, owner,
// symlink target, content) and describes the differences ("" if none).
func diffTrees(a, b string) (string, error) {
	ta, err := testbed.Tree(a)
	if err != nil {
		return "", err
	}
	tb, err := testbed.Tree(b)
	if err != nil {
		return "", err
	}
	return testbed.DiffTrees(ta, tb, "seeded", "unseeded"), nil
}
