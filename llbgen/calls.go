package llbgen

import (
	"path"
	"slices"
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

// SystemPackages parses a call of the system package manager (apt-get,
// apt, apk): ok when it is one hoist can follow, known when its
// subcommand is one it knows (update, install or add, clean), and the
// names of the packages it installs, lowercased, without versions.
func SystemPackages(o shellscan.Call) (pkgs []string, known, ok bool) {
	if o.Dynamic || o.Opaque || len(o.Unset) > 0 || !o.DirKnown {
		return nil, false, false
	}
	var subs map[string]bool
	var install string
	var valueFlags []string
	switch path.Base(o.Name) {
	case "apt-get", "apt":
		subs, install, valueFlags = map[string]bool{"update": true, "install": true, "clean": true}, "install", []string{"-o", "-t", "--target-release"}
	case "apk":
		subs, install, valueFlags = map[string]bool{"update": true, "add": true}, "add", []string{"-t", "--virtual", "-X", "--repository"}
	default:
		return nil, false, false
	}
	sub := ""
	for i := 0; i < len(o.Args); i++ {
		a := o.Args[i]
		if strings.HasPrefix(a, "-") {
			if slices.Contains(valueFlags, a) {
				i++
			}
			continue
		}
		if sub == "" {
			sub = a
			continue
		}
		if name := strings.FieldsFunc(a, func(r rune) bool { return r == '=' || r == '~' || r == '>' || r == '<' || r == ':' }); len(name) > 0 {
			pkgs = append(pkgs, strings.ToLower(name[0]))
		}
	}
	if !subs[sub] || sub != install && len(pkgs) > 0 {
		return nil, false, true
	}
	return pkgs, true, true
}
