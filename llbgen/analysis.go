package llbgen

import (
	"context"
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
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// analysis walks a parsed Dockerfile once, stage by stage, keeping the state
// that decides cache paths, and records edits and notes.
type analysis struct {
	opt    Options
	dt     []byte
	lines  []string
	nodes  map[int]*parser.Node // top-level instructions by start line
	lex    *shell.Lex
	stages []*stage
	byName map[string]*stage
	edits  edits
	notes  []Note
	// appended are lines after the user's last one (--target hoist-cache).
	appended []appendedLine
	// mounted records cache mount targets hoist added, per stage, so a stage
	// built FROM it can tell which paths it must not expect in the layer.
	steps []*runStep
	plan  rewritePlan // the rewrite as data (plan.go)
	// verified are the hoisted downloads that verify a seeded module cache.
	verified []verifiedDownload
	// stepFacts caches what each step does to the filesystem (safety.go).
	stepFacts map[*runStep]*stepFacts
	// scripts are the build-context scripts each RUN runs (scripts.go).
	scripts map[*runStep][]scriptCall
	// argNames are the names the Dockerfile declares with ARG, and the
	// automatic platform args: outside an ARG's scope a RUN does not have
	// them in its environment, as no shell or runtime sets such a name.
	argNames map[string]bool
}

// runStep is one RUN instruction with what analysis learnt about it.
type runStep struct {
	stage   *stage
	cmd     *instructions.RunCommand
	line    int
	env     map[string]string
	workdir string
	calls   []shellscan.Call
	callErr error
	acc     account
	accWhy  string
	off     bool   // # hoist:off
	envErr  string // why the step's environment is not known
	// existing mount targets the user already declared
	existing map[string]bool
}

// cacheMount is one cache mount hoist adds to a RUN.
type cacheMount struct {
	id      string
	target  string
	sharing string
	uid     *int
	gid     *int
	mode    string
	// from and source seed the cache from a directory of an image
	// (HOIST_CACHE_FROM, cachefrom.go).
	from, source string
}

func (m cacheMount) flag() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--mount=type=cache,id=%s,target=%s,sharing=%s", m.id, m.target, m.sharing)
	if m.uid != nil {
		fmt.Fprintf(&b, ",uid=%d", *m.uid)
	}
	if m.gid != nil {
		fmt.Fprintf(&b, ",gid=%d", *m.gid)
	}
	if m.mode != "" {
		fmt.Fprintf(&b, ",mode=%s", m.mode)
	}
	if m.from != "" {
		fmt.Fprintf(&b, ",from=%s,source=%s", m.from, m.source)
	}
	return b.String()
}

func (a *analysis) note(rule Rule, line int, changed bool, format string, args ...any) {
	a.notes = append(a.notes, Note{Line: line, Rule: rule.Name, Changed: changed, Message: fmt.Sprintf(format, args...)})
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// hoistOff reports a "# hoist:off" comment directly above the instruction at line.
func (a *analysis) hoistOff(line int) bool {
	n := a.nodes[line]
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

func startLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func endLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[len(loc)-1].End.Line
}

// walk builds the stage graph and each RUN's state.
func (a *analysis) walk(ctx context.Context, stages []instructions.Stage, metaArgs []instructions.ArgCommand) error {
	global := map[string]string{}
	// Automatic platform args are in scope for FROM, as in dockerfile2llb.
	tp := platforms.DefaultSpec()
	if a.opt.TargetPlatform != nil {
		tp = *a.opt.TargetPlatform
	}
	bp := platforms.DefaultSpec()
	if a.opt.BuildPlatform != nil {
		bp = *a.opt.BuildPlatform
	}
	for k, v := range platformArgs("TARGET", tp) {
		global[k] = v
	}
	for k, v := range platformArgs("BUILD", bp) {
		global[k] = v
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
			v, ok := a.opt.BuildArgs[kv.Key]
			if !ok {
				if kv.Value == nil {
					continue
				}
				ev, _, err := a.lex.ProcessWord(*kv.Value, envGetter(global))
				if err != nil {
					return err
				}
				v = ev
			}
			global[kv.Key] = v
		}
	}

	for i := range stages {
		st := &stages[i]
		base, _, err := a.lex.ProcessWord(st.BaseName, envGetter(global))
		if err != nil {
			return err
		}
		var s *stage
		if p, ok := a.byName[strings.ToLower(base)]; ok {
			s = p.clone()
			s.parent = p
			p.children = append(p.children, s)
		} else {
			s = &stage{env: map[string]string{}, args: map[string]string{}, users: map[string]account{}, image: base}
		}
		s.index, s.name, s.base, s.loc = i, strings.ToLower(st.Name), base, st.Location
		s.args = map[string]string{}
		s.cmds = st.Commands
		if st.Platform != "" {
			pl, _, err := a.lex.ProcessWord(st.Platform, envGetter(global))
			if err == nil {
				if p, err := platforms.Parse(pl); err == nil {
					s.platform = &p
				}
			}
		} else if s.parent != nil {
			s.platform = s.parent.platform
		} else {
			s.platform = &tp
		}
		if s.parent == nil {
			a.loadImage(ctx, s)
		}
		s.startWorkdir = s.workdir
		a.stages = append(a.stages, s)
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

func platformArgs(prefix string, p ocispecs.Platform) map[string]string {
	p = platforms.Normalize(p)
	return map[string]string{
		prefix + "PLATFORM": platforms.Format(p),
		prefix + "OS":       p.OS,
		prefix + "ARCH":     p.Architecture,
		prefix + "VARIANT":  p.Variant,
	}
}

// step advances a stage's state over one instruction.
func (a *analysis) step(ctx context.Context, s *stage, cmd instructions.Command, global map[string]string) error {
	expand := func(w string) (string, error) { return a.expand(s, w) }
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
			v, ok := a.opt.BuildArgs[kv.Key]
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
func (a *analysis) loadImage(ctx context.Context, s *stage) {
	if s.image == "scratch" {
		return
	}
	if a.opt.Images == nil {
		s.imageErr = fmt.Errorf("no image config available")
		return
	}
	cfg, err := a.opt.Images.Config(ctx, s.image, s.platform)
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
func (a *analysis) passwd(ctx context.Context, s *stage) map[string]account {
	root := s.root()
	if root.passwd != nil || root.image == "scratch" || a.opt.Images == nil {
		return root.passwd
	}
	dt, err := a.opt.Images.Passwd(ctx, root.image, root.platform)
	if err != nil || dt == nil {
		root.passwd = map[string]account{}
		return root.passwd
	}
	root.passwd = parsePasswd(dt)
	return root.passwd
}

// unsetArgs are the declared ARG names a RUN's environment env lacks,
// known to be unset when the base image's config is known (it may set
// any name). dockerfile2llb passes the proxy args without an ARG.
func (a *analysis) unsetArgs(s *stage, env map[string]string) []string {
	if s.root().imageErr != nil {
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
func (a *analysis) run(ctx context.Context, s *stage, c *instructions.RunCommand) error {
	line := startLine(c.Location())
	rs := &runStep{
		stage:    s,
		cmd:      c,
		line:     line,
		env:      s.stepEnv(),
		workdir:  s.workdir,
		off:      a.hoistOff(line),
		existing: map[string]bool{},
	}
	if rs.workdir == "" {
		rs.workdir = "/"
	}
	if err := c.Expand(func(w string) (string, error) { return a.expand(s, w) }); err != nil {
		rs.callErr = err
	}
	for _, m := range instructions.GetMounts(c) {
		if m.Target != "" {
			t := m.Target
			if !path.IsAbs(t) {
				t = path.Join(rs.workdir, t)
			}
			rs.existing[path.Clean(t)] = true
		}
	}
	if rs.callErr == nil {
		rs.calls, rs.callErr = shellscan.RunCallsUnset(c, s.shell, rs.env, a.unsetArgs(s, rs.env))
	}
	for _, call := range rs.calls {
		s.noteUserAdd(call)
	}
	rs.acc, rs.accWhy = s.account(ctx, a)
	root := s.root()
	if root.imageErr != nil {
		rs.envErr = "the config of base image " + root.image + " is unknown (" + root.imageErr.Error() + "), so cache paths are too"
	}
	a.steps = append(a.steps, rs)
	return nil
}

// ownership returns the uid/gid/mode options for a cache mount used by acc,
// and a suffix that keeps caches of different users apart: a cache
// directory is created once, with the first user's ownership.
func ownership(acc account) (uid, gid *int, mode, suffix string) {
	if acc.uidKnown && acc.uid == 0 && acc.gid == 0 {
		return nil, nil, "", ""
	}
	if acc.uidKnown {
		u, g := acc.uid, acc.gid
		return &u, &g, "", "-" + strconv.Itoa(acc.uid)
	}
	// A user created during the build has no uid hoist can prove: the cache
	// directory is made writable for it instead.
	return nil, nil, "0777", "-" + idSafe(acc.name)
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

// mountablePath reports whether p can stand in a --mount flag as it is:
// the flag is one whitespace-free, comma-separated word of valid text
// (ContainsRune of RuneError also finds invalid bytes; the Dockerfile parser
// turns them into U+FFFD, which no real path has).
func mountablePath(p string) bool {
	return path.IsAbs(p) && !strings.ContainsRune(p, utf8.RuneError) && !strings.ContainsAny(p, " \t\n\r,\"'\\=`$")
}
