package llbgen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/containerd/platforms"
	"github.com/hoistbuild/hoist/llbgen/shellscan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Analysis walks a parsed Dockerfile once, stage by stage, keeping the state
// that decides cache paths, and records edits and notes.
type Analysis struct {
	Opt    Options
	dt     []byte
	Lines  []string
	Nodes  map[int]*parser.Node // top-level instructions by start line
	lex    *shell.Lex
	escape rune // the Dockerfile's escape character
	Stages []*Stage
	byName map[string]*Stage
	Edits  edits
	notes  []Note
	// appended are lines after the user's last one (--target hoist-cache).
	appended []appendedLine
	// mounted records cache mount targets hoist added, per stage, so a stage
	// built FROM it can tell which paths it must not expect in the layer.
	Steps []*RunStep
	Plan  RewritePlan // the rewrite as data (plan.go)
	// Verified are the hoisted downloads that verify a seeded module cache.
	Verified []VerifiedDownload
	// stepFacts caches what each step does to the filesystem (safety.go).
	stepFacts map[*RunStep]*StepFacts
	// scripts are the build-context scripts each RUN runs (scripts.go).
	scripts map[*RunStep][]scriptCall
	// argNames are the names the Dockerfile declares with ARG, and the
	// automatic platform args: outside an ARG's scope a RUN does not have
	// them in its environment, as no shell or runtime sets such a name.
	argNames map[string]bool
}

// RunStep is one RUN instruction with what analysis learnt about it.
type RunStep struct {
	Stage   *Stage
	Cmd     *instructions.RunCommand
	Line    int
	Env     map[string]string
	Workdir string
	Calls   []shellscan.Call
	CallErr error
	Acc     Account
	accWhy  string
	Off     bool   // # hoist:off
	EnvErr  string // why the step's environment is not known
	// existing mount targets the user already declared
	existing map[string]bool
}

// CacheMount is one cache mount hoist adds to a RUN.
type CacheMount struct {
	ID      string
	Target  string
	Sharing string
	UID     *int
	GID     *int
	Mode    string
	// from and source seed the cache from a directory of an image
	// (HOIST_CACHE_FROM, cachefrom.go).
	from, source string
}

func (m CacheMount) flag() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--mount=type=cache,id=%s,target=%s,sharing=%s", m.ID, m.Target, m.Sharing)
	if m.UID != nil {
		fmt.Fprintf(&b, ",uid=%d", *m.UID)
	}
	if m.GID != nil {
		fmt.Fprintf(&b, ",gid=%d", *m.GID)
	}
	if m.Mode != "" {
		fmt.Fprintf(&b, ",mode=%s", m.Mode)
	}
	if m.from != "" {
		fmt.Fprintf(&b, ",from=%s,source=%s", m.from, m.source)
	}
	return b.String()
}

func (a *Analysis) Note(rule Rule, line int, changed bool, format string, args ...any) {
	a.notes = append(a.notes, Note{Line: line, Rule: rule.Name, Changed: changed, Message: fmt.Sprintf(format, args...)})
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// HoistOff reports a "# hoist:off" comment directly above the instruction at line.
func (a *Analysis) HoistOff(line int) bool {
	n := a.Nodes[line]
	if n == nil {
		return false
	}
	for _, c := range n.PrevComment {
		c = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c), "#"))
		if c == "hoist:off" {
			return true
		}
	}
	return false
}

func StartLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func EndLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[len(loc)-1].End.Line
}

// walk builds the stage graph and each RUN's state.
func (a *Analysis) walk(ctx context.Context, stages []instructions.Stage, metaArgs []instructions.ArgCommand) error {
	// FROM lines and stage ARGs see the global scope, as in dockerfile2llb.
	tp := platforms.DefaultSpec()
	if a.Opt.TargetPlatform != nil {
		tp = *a.Opt.TargetPlatform
	}
	bp := platforms.DefaultSpec()
	if a.Opt.BuildPlatform != nil {
		bp = *a.Opt.BuildPlatform
	}
	global, froms, err := resolveFroms(stages, metaArgs, a.lex, bp, tp, a.Opt.Target, a.Opt.BuildArgs)
	if err != nil {
		return err
	}
	a.argNames = map[string]bool{}
	for k := range global {
		a.argNames[k] = true
	}
	for _, st := range stages {
		for _, c := range st.Commands {
			if ac, ok := c.(*instructions.ArgCommand); ok {
				for _, kv := range ac.Args {
					a.argNames[kv.Key] = true
				}
			}
		}
	}
	for _, ma := range metaArgs {
		for _, kv := range ma.Args {
			a.argNames[kv.Key] = true
		}
	}

	for i := range stages {
		st := &stages[i]
		f := froms[i]
		var s *Stage
		if f.parent >= 0 {
			p := a.Stages[f.parent]
			s = p.clone()
			s.Parent = p
			p.children = append(p.children, s)
		} else {
			s = &Stage{env: map[string]string{}, args: map[string]string{}, users: map[string]Account{}, Image: f.base}
		}
		s.index, s.name, s.base, s.loc = i, st.Name, f.base, st.Location
		s.args = map[string]string{}
		s.Cmds = st.Commands
		switch {
		case f.platform != nil:
			s.platform = f.platform
		case s.Parent != nil:
			s.platform = s.Parent.platform
		default:
			s.platform = &tp
		}
		if s.Parent == nil {
			a.loadImage(ctx, s)
		}
		s.startWorkdir = s.workdir
		a.Stages = append(a.Stages, s)
		if s.name != "" {
			a.byName[s.name] = s
		}
		a.byName[strconv.Itoa(i)] = s

		for _, cmd := range st.Commands {
			if err := a.step(ctx, s, cmd, global); err != nil {
				return err
			}
		}
	}
	return nil
}

// step advances a stage's state over one instruction.
func (a *Analysis) step(ctx context.Context, s *Stage, cmd instructions.Command, global map[string]string) error {
	expand := func(w string) (string, error) { return a.Expand(s, w) }
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			v, err := expand(kv.Value)
			if err != nil {
				return err
			}
			s.env[kv.Key] = v
		}
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, ok := a.Opt.BuildArgs[kv.Key]
			if !ok {
				if gv, gok := global[kv.Key]; gok && kv.Value == nil {
					v, ok = gv, true
				} else if kv.Value != nil {
					ev, err := expand(*kv.Value)
					if err != nil {
						return err
					}
					v, ok = ev, true
				}
			}
			if ok {
				s.args[kv.Key] = v
			}
		}
	case *instructions.WorkdirCommand:
		p, err := expand(c.Path)
		if err != nil {
			return err
		}
		if !path.IsAbs(p) {
			p = path.Join("/", s.workdir, p)
		}
		s.workdir = path.Clean(p)
	case *instructions.UserCommand:
		u, err := expand(c.User)
		if err != nil {
			return err
		}
		s.user = u
	case *instructions.ShellCommand:
		s.shell = append([]string(nil), c.Shell...)
	case *instructions.RunCommand:
		return a.run(ctx, s, c)
	}
	return nil
}

// loadImage fills a root stage's starting state from its base image config.
func (a *Analysis) loadImage(ctx context.Context, s *Stage) {
	if s.Image == "scratch" {
		return
	}
	if a.Opt.Images == nil {
		s.imageErr = fmt.Errorf("no image config available")
		return
	}
	cfg, err := a.Opt.Images.Config(ctx, s.Image, s.platform)
	if err != nil {
		s.imageErr = err
		return
	}
	s.env = envMap(cfg.Env)
	s.user = cfg.User
	s.workdir = cfg.WorkingDir
	if len(cfg.Shell) > 0 {
		s.shell = cfg.Shell
	}
}

// passwd returns the users in the /etc/passwd of the stage's base image.
func (a *Analysis) passwd(ctx context.Context, s *Stage) map[string]Account {
	root := s.Root()
	if root.passwd != nil || root.Image == "scratch" || a.Opt.Images == nil {
		return root.passwd
	}
	dt, err := a.Opt.Images.Passwd(ctx, root.Image, root.platform)
	if err != nil || dt == nil {
		root.passwd = map[string]Account{}
		return root.passwd
	}
	root.passwd = parsePasswd(dt)
	return root.passwd
}

// unsetArgs are the declared ARG names a RUN's environment env lacks,
// known to be unset when the base image's config is known (it may set
// any name). dockerfile2llb passes the proxy args without an ARG.
func (a *Analysis) unsetArgs(s *Stage, env map[string]string) []string {
	if s.Root().imageErr != nil {
		return nil
	}
	var unset []string
	for n := range a.argNames {
		if _, ok := env[n]; !ok && !proxyArg(n) {
			unset = append(unset, n)
		}
	}
	slices.Sort(unset)
	return unset
}

// proxyArg reports dockerfile2llb's predefined proxy args, which reach
// RUN as build args without being declared.
func proxyArg(n string) bool {
	switch strings.ToUpper(n) {
	case "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY":
		return true
	}
	return false
}

// run records a RUN step's state and the commands it runs.
func (a *Analysis) run(ctx context.Context, s *Stage, c *instructions.RunCommand) error {
	line := StartLine(c.Location())
	rs := &RunStep{
		Stage:    s,
		Cmd:      c,
		Line:     line,
		Env:      s.stepEnv(),
		Workdir:  s.workdir,
		Off:      a.HoistOff(line),
		existing: map[string]bool{},
	}
	if rs.Workdir == "" {
		rs.Workdir = "/"
	}
	if err := c.Expand(func(w string) (string, error) { return a.Expand(s, w) }); err != nil {
		rs.CallErr = err
	}
	for _, m := range instructions.GetMounts(c) {
		if m.Target != "" {
			t := m.Target
			if !path.IsAbs(t) {
				t = path.Join(rs.Workdir, t)
			}
			rs.existing[path.Clean(t)] = true
		}
	}
	if rs.CallErr == nil {
		rs.Calls, rs.CallErr = shellscan.RunCallsUnset(c, s.shell, rs.Env, a.unsetArgs(s, rs.Env))
	}
	for _, call := range rs.Calls {
		s.noteUserAdd(call)
	}
	rs.Acc, rs.accWhy = s.account(ctx, a)
	root := s.Root()
	if root.imageErr != nil {
		rs.EnvErr = "the config of base image " + root.Image + " is unknown (" + root.imageErr.Error() + "), so cache paths are too"
	}
	a.Steps = append(a.Steps, rs)
	return nil
}

// Ownership returns the uid/gid/mode options for a cache mount used by acc,
// and a suffix that keeps caches of different users apart: a cache
// directory is created once, with the first user's Ownership.
func Ownership(acc Account) (uid, gid *int, mode, suffix string) {
	if acc.UIDKnown && acc.UID == 0 && acc.gid == 0 {
		return nil, nil, "", ""
	}
	if acc.UIDKnown {
		u, g := acc.UID, acc.gid
		return &u, &g, "", "-" + strconv.Itoa(acc.UID)
	}
	// A user created during the build has no uid hoist can prove: the cache
	// directory is made writable for it instead. Its id names the image and
	// the calls that gave it its uid, so a user of the same name with
	// another uid (adduser -S on alpine, useradd on debian) gets another
	// cache, which the first one's directories would not let it write to.
	sfx := "-" + idSafe(acc.Name)
	if acc.created != "" {
		sum := sha256.Sum256([]byte(acc.created))
		sfx += "-" + hex.EncodeToString(sum[:4])
	}
	return nil, nil, "0777", sfx
}

// idSafe keeps a user name usable inside a --mount flag's id.
func idSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// MountablePath reports whether p can stand in a --mount flag as it is:
// the flag is one whitespace-free, comma-separated word of valid text
// (ContainsRune of RuneError also finds invalid bytes; the Dockerfile parser
// turns them into U+FFFD, which no real path has).
func MountablePath(p string) bool {
	return path.IsAbs(p) && !strings.ContainsRune(p, utf8.RuneError) && !strings.ContainsAny(p, " \t\n\r,\"'\\=`$")
}
