package llbgen

import (
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

func sameCall(x, y shellscan.Call) bool {
	return x.Name == y.Name && x.Line == y.Line && strings.Join(x.Args, "\x00") == strings.Join(y.Args, "\x00")
}

func hasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// runWords is a call as a command line.
func runWords(c shellscan.Call) string {
	w := make([]string, 0, len(c.Args)+1)
	w = append(w, shellQuote(c.Name))
	for _, a := range c.Args {
		w = append(w, shellQuote(a))
	}
	return strings.Join(w, " ")
}
