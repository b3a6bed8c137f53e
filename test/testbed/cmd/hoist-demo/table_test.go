package main

import (
	"strings"
	"testing"
)

func TestTableSame(t *testing.T) {
	r := results{Example: "examples/go-app", EditFile: "main.go",
		Cold: []float64{27.94, 27.51}, Edit: []float64{28.3, 1.29}, Paths: []int{412, 412}}
	want := `examples/go-app, naive Dockerfile, built with docker buildx build: stock frontend vs hoist
(each from a pruned builder holding only its base images, then after appending a line to main.go)

                                 stock    hoist  speed-up
  cold build                    27.9 s   27.5 s      1.0x
  rebuild after one-line edit   28.3 s    1.3 s     21.9x

  same files: yes (412 paths, cold and edit build; mode, owner, content of every path)
`
	if got := r.Table(); got != want {
		t.Errorf("Table:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableDifferent(t *testing.T) {
	r := results{Example: "examples/go-app", EditFile: "main.go",
		Cold: []float64{20, 10}, Edit: []float64{20, 0}, Paths: []int{3, 4},
		Diffs: []string{"edit build:\n/app: stock -rwxr-xr-x, hoist -rwx------\n"}}
	got := r.Table()
	for _, want := range []string{
		"  same files: no (3 paths cold, 4 after the edit;",
		"\n    edit build:\n    /app: stock -rwxr-xr-x, hoist -rwx------\n",
		"  cold build                    20.0 s   10.0 s      2.0x\n",
		"  rebuild after one-line edit   20.0 s    0.0 s         -\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Table lacks %q:\n%s", want, got)
		}
	}
}
