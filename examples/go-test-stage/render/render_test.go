package render

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHTML(t *testing.T) {
	got, err := HTML([]byte("# Title\n\n~~old~~ *new*\n\n<script>x</script>\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := "<h1>Title</h1>\n<p><del>old</del> <em>new</em></p>\n<!-- raw HTML omitted -->\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("HTML mismatch (-want +got):\n%s", diff)
	}
}

func TestHeadings(t *testing.T) {
	src := strings.Join([]string{"# One", "text", "## Two ", "### Three", "#NoSpace"}, "\n")
	if diff := cmp.Diff([]string{"One", "Two"}, Headings([]byte(src))); diff != "" {
		t.Errorf("Headings mismatch (-want +got):\n%s", diff)
	}
}
