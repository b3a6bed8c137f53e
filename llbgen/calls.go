package llbgen

import (
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
)

func SameCall(x, y shellscan.Call) bool {
	return x.Name == y.Name && x.Line == y.Line && strings.Join(x.Args, "\x00") == strings.Join(y.Args, "\x00")
}

func HasArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}

// RunWords is a call as a command line.
func RunWords(c shellscan.Call) string {
	w := make([]string, 0, len(c.Args)+1)
	w = append(w, ShellQuote(c.Name))
	for _, a := range c.Args {
		w = append(w, ShellQuote(a))
	}
	return strings.Join(w, " ")
}
