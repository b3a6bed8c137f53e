package flavor

import (
	"os/exec"
	"strings"
	"testing"
)

func TestFlavor(t *testing.T) {
	out, err := exec.Command("cat", "/etc/flavor").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "a" {
		t.Fatalf("flavor %q, want a", got)
	}
}
