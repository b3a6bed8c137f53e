// Command go-test-stage renders Markdown from stdin to HTML on stdout.
package main

import (
	"fmt"
	"io"
	"os"

	"example.com/go-test-stage/render"
)

func main() {
	src, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-test-stage: read stdin:", err)
		os.Exit(1)
	}
	out, err := render.HTML(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go-test-stage:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
