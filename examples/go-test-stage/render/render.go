// Package render converts Markdown to HTML with goldmark.
package render

import (
	"bytes"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

var md = goldmark.New(goldmark.WithExtensions(extension.GFM))

// HTML renders GitHub-flavoured Markdown; raw HTML in the input is dropped.
func HTML(src []byte) ([]byte, error) {
	var buf bytes.Buffer
	if err := md.Convert(src, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Headings returns the text of every level-1 and level-2 ATX heading, in order.
func Headings(src []byte) []string {
	var out []string
	for _, line := range bytes.Split(src, []byte("\n")) {
		for _, p := range [][]byte{[]byte("# "), []byte("## ")} {
			if bytes.HasPrefix(line, p) {
				out = append(out, string(bytes.TrimSpace(line[len(p):])))
				break
			}
		}
	}
	return out
}
