package main

import (
	"fmt"
	"strings"
)

// results is what one demo run measured; Cold and Edit hold seconds in the
// order of variants (stock, hoist).
type results struct {
	Example, EditFile string
	Cold, Edit        []float64
	// Paths is how many paths the stock exports of the cold and the edit
	// build held; Diffs describes where hoist's exports differed.
	Paths []int
	Diffs []string
}

// Table formats the results for the terminal.
func (r results) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, naive Dockerfile, built with docker buildx build: stock frontend vs hoist\n", r.Example)
	fmt.Fprintf(&b, "(each from a pruned builder holding only its base images, then after appending a line to %s)\n\n", r.EditFile)
	fmt.Fprintf(&b, "  %-27s %8s %8s %9s\n", "", "stock", "hoist", "speed-up")
	row := func(name string, s []float64) {
		if len(s) != 2 {
			return
		}
		fmt.Fprintf(&b, "  %-27s %6.1f s %6.1f s %9s\n", name, s[0], s[1], speedup(s[0], s[1]))
	}
	row("cold build", r.Cold)
	row("rebuild after one-line edit", r.Edit)
	same := "yes"
	if len(r.Diffs) > 0 {
		same = "no"
	}
	fmt.Fprintf(&b, "\n  same files: %s (%s; mode, owner, content of every path)\n", same, pathCounts(r.Paths))
	for _, d := range r.Diffs {
		for _, l := range strings.Split(strings.TrimRight(d, "\n"), "\n") {
			fmt.Fprintf(&b, "    %s\n", l)
		}
	}
	return b.String()
}

// speedup is how many times faster b is than a, "x.yx".
func speedup(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", a/b)
}

func pathCounts(n []int) string {
	switch {
	case len(n) == 2 && n[0] == n[1]:
		return fmt.Sprintf("%d paths, cold and edit build", n[0])
	case len(n) == 2:
		return fmt.Sprintf("%d paths cold, %d after the edit", n[0], n[1])
	}
	return "not compared"
}
