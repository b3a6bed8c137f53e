package llbgen

import (
	"context"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// ImageConfig is the part of a base image's config that decides where tools
// keep their caches.
type ImageConfig struct {
	Env        []string
	User       string
	WorkingDir string
	Shell      []string
}

// Images looks up base image configs. Passwd may return nil when the image's
// /etc/passwd cannot be read; analysis then knows fewer users.
type Images interface {
	Config(ctx context.Context, ref string, platform *ocispecs.Platform) (*ImageConfig, error)
	Passwd(ctx context.Context, ref string, platform *ocispecs.Platform) ([]byte, error)
}

// Account is what hoist knows of a user: uid and gid decide cache mount
// ownership, home decides default cache paths.
type Account struct {
	UID, gid   int
	UIDKnown   bool
	home       string
	homeKnown  bool
	Name       string
	fromPasswd bool
	// NewUser is a user a useradd or adduser of this build created without
	// a uid: it got a free one, never root's. created names the image and
	// the user-creating calls that led to it, which decide that uid.
	NewUser bool
	created string
}

// Stage is the analysis state of one build Stage at a point in it.
type Stage struct {
	index    int
	name     string
	base     string // expanded base name or image ref
	platform *ocispecs.Platform
	Parent   *Stage // base stage, when FROM names an earlier stage
	Image    string // the external image at the root of the chain
	loc      []parser.Range

	env     map[string]string // ENV, from the image onwards
	args    map[string]string // ARGs in scope with their values
	user    string
	workdir string
	shell   []string
	users   map[string]Account // users created by RUN useradd/adduser so far
	// userAdds are those calls' words, in order.
	userAdds []string

	imageErr     error
	startWorkdir string
	passwd       map[string]Account

	Cmds []instructions.Command
	// children are stages built FROM this one.
	children []*Stage
	// consumers are paths other stages copy or mount from this stage;
	// "/" when the stage is exported.
	consumers []string
}

func (s *Stage) clone() *Stage {
	n := *s
	n.env = CloneMap(s.env)
	n.args = CloneMap(s.args)
	n.users = make(map[string]Account, len(s.users))
	for k, v := range s.users {
		n.users[k] = v
	}
	n.userAdds = slices.Clone(s.userAdds)
	n.children, n.consumers = nil, nil
	return &n
}

func CloneMap(m map[string]string) map[string]string {
	n := make(map[string]string, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// Root is the stage at the bottom of s's FROM chain, the one with an image.
func (s *Stage) Root() *Stage {
	for s.Parent != nil {
		s = s.Parent
	}
	return s
}

// stepEnv is the environment a RUN sees: stage env plus ARGs in scope.
func (s *Stage) stepEnv() map[string]string {
	e := CloneMap(s.env)
	for k, v := range s.args {
		if _, ok := e[k]; !ok {
			e[k] = v
		}
	}
	return e
}

// envGetter adapts a map for the Dockerfile shell lexer.
type envGetter map[string]string

func (e envGetter) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envGetter) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	return keys
}

func envMap(kv []string) map[string]string {
	m := make(map[string]string, len(kv))
	for _, e := range kv {
		k, v, _ := strings.Cut(e, "=")
		m[k] = v
	}
	return m
}

// account resolves the stage's current USER.
func (s *Stage) account(ctx context.Context, a *Analysis) (Account, string) {
	spec := s.user
	name, group, _ := strings.Cut(spec, ":")
	if name == "" || name == "root" || name == "0" {
		acc := Account{UID: 0, gid: 0, UIDKnown: true, home: "/root", homeKnown: true, Name: "root"}
		if g, err := strconv.Atoi(group); err == nil {
			acc.gid = g
		}
		return acc, ""
	}
	known, ok := s.users[name]
	if !ok {
		if pw := a.passwd(ctx, s); pw != nil {
			if byName, ok2 := pw[name]; ok2 {
				known, ok = byName, true
			} else {
				for _, acc := range pw {
					if acc.UIDKnown && strconv.Itoa(acc.UID) == name {
						known, ok = acc, true
						break
					}
				}
			}
		}
	}
	var acc Account
	if ok {
		acc = known
	} else if uid, err := strconv.Atoi(name); err == nil {
		// A numeric user with no passwd entry: runc gives it gid 0 and
		// HOME=/ unless the image's passwd says otherwise; that passwd was
		// not readable, so only the ids are certain.
		acc = Account{UID: uid, gid: 0, UIDKnown: true, Name: name}
	} else {
		return Account{Name: name}, "user " + name + " is not in the base image's /etc/passwd or a useradd/adduser of this build"
	}
	if group != "" {
		g, err := strconv.Atoi(group)
		if err != nil {
			return acc, "group " + group + " of USER " + spec + " is not numeric"
		}
		acc.gid = g
	}
	return acc, ""
}

// Home returns HOME for a step: the env wins, as in runc.
func Home(env map[string]string, acc Account) (string, bool) {
	if h, ok := env["HOME"]; ok && h != "" {
		return h, true
	}
	return acc.home, acc.homeKnown
}

// parsePasswd reads /etc/passwd entries.
func parsePasswd(dt []byte) map[string]Account {
	m := map[string]Account{}
	for line := range strings.SplitSeq(string(dt), "\n") {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) < 7 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		m[f[0]] = Account{UID: uid, gid: gid, UIDKnown: true, home: f[5], homeKnown: f[5] != "", Name: f[0], fromPasswd: true}
	}
	return m
}

// noteUserAdd records a user created by useradd or adduser in a RUN step.
// Its home is certain when given or defaulted; its uid only when given.
func (s *Stage) noteUserAdd(c shellscan.Call) {
	base := path.Base(c.Name)
	if base != "useradd" && base != "adduser" {
		return
	}
	acc := Account{}
	var name string
	noHome := false
	args := c.Args
	for i := 0; i < len(args); i++ {
		a := args[i]
		val := func() string {
			if k, v, ok := strings.Cut(a, "="); ok && strings.HasPrefix(k, "--") {
				return v
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		flag, _, _ := strings.Cut(a, "=")
		switch {
		case flag == "-u" || flag == "--uid":
			if n, err := strconv.Atoi(val()); err == nil {
				acc.UID, acc.UIDKnown = n, true
			}
		case flag == "-g" || flag == "--gid" || flag == "-G" || flag == "--ingroup":
			if n, err := strconv.Atoi(val()); err == nil && (flag == "-g" || flag == "--gid") {
				acc.gid = n
			}
		case (flag == "-d" && base == "useradd") || flag == "--home" || flag == "--home-dir" || (flag == "-h" && base == "adduser"):
			acc.home, acc.homeKnown = val(), true
		case flag == "-M" || flag == "--no-create-home":
			noHome = noHome || base == "adduser"
		case flag == "-s" || flag == "--shell" || flag == "-c" || flag == "--comment" || flag == "--gecos" || flag == "-k" || flag == "-K" || flag == "-e" || flag == "-f" || flag == "-p" || flag == "-b" || flag == "--base-dir" || flag == "--firstuid" || flag == "--lastuid" || flag == "-L":
			val()
		case strings.HasPrefix(a, "-"):
		default:
			if name == "" {
				name = a
			}
		}
	}
	if name == "" || c.Dynamic {
		return
	}
	if !acc.homeKnown && !noHome {
		acc.home, acc.homeKnown = "/home/"+name, true
	}
	s.userAdds = append(s.userAdds, strings.Join(append([]string{c.Name}, c.Args...), " "))
	if !acc.UIDKnown {
		acc.gid, acc.NewUser = 0, true
		acc.created = strings.Join(append([]string{s.Image}, s.userAdds...), "\n")
	}
	acc.Name = name
	s.users[name] = acc
}

// Expand expands Dockerfile words with the stage's env and args.
func (a *Analysis) Expand(s *Stage, word string) (string, error) {
	res, _, err := a.lex.ProcessWord(word, envGetter(s.stepEnv()))
	return res, err
}

func newLex(escape rune) *shell.Lex {
	return shell.NewLex(escape)
}

// CmdIndex is the position of c among the stage's instructions, -1 if it is
// not one of them.
func (s *Stage) CmdIndex(c instructions.Command) int {
	for i, sc := range s.Cmds {
		if sc == c {
			return i
		}
	}
	return -1
}
