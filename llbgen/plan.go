package llbgen

import (
	"context"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// rewrite decides every change after the walk and records it as edits.
func (a *Analysis) rewrite(ctx context.Context) error {
	a.collectConsumers()
	if err := a.readScripts(ctx); err != nil {
		return err
	}
	a.Plan.mounts = map[int][]CacheMount{}
	for _, e := range ecosystems {
		if !e.Enabled(a.Opt.Config) {
			continue
		}
		p := e.Start(a)
		if err := p.Analyse(ctx); err != nil {
			return err
		}
		p.Mount()
		if a.Opt.Config.Steps {
			if err := p.Hoist(ctx); err != nil {
				return err
			}
		}
		for _, sm := range p.Done() {
			a.Plan.mounts[sm.Step.Line] = append(a.Plan.mounts[sm.Step.Line], sm.Mounts...)
		}
	}

	// CI caches (cachefrom.go) work on the plan's mounts.
	a.seedCaches()
	a.noteUnverifiedSeeds()
	a.exportCaches()
	a.mountParents()

	a.render()
	return nil
}

// RewritePlan is the rewrite as data: the cache mounts added to the
// user's RUNs and the steps hoist inserts. render is the only code that
// turns it into Dockerfile text.
type RewritePlan struct {
	mounts  map[int][]CacheMount // user line of a RUN -> cache mounts added to it
	inserts []*Insertion
}

// Insertion is a hoisted download: COPYs of the manifests, then the RUN.
type Insertion struct {
	At     int      // the user line it is inserted at
	After  bool     // after that line (a COPY of the manifests), not before
	Copies []string // the COPY lines, rendered
	Run    HoistedRun
}

// HoistedRun is an inserted RUN.
type HoistedRun struct {
	Mounts []CacheMount
	Flags  []string // the user's RUN flags it passes through (secrets, network)
	Cmd    string
	Serves int // the user's RUN it downloads for: its failure is reported there
}

func (r HoistedRun) text() string {
	words := []string{"RUN"}
	for _, m := range r.Mounts {
		words = append(words, m.flag())
	}
	words = append(words, r.Flags...)
	return strings.Join(append(words, r.Cmd), " ")
}

func (p *RewritePlan) Insert(ins *Insertion) { p.inserts = append(p.inserts, ins) }

// eachMounts calls f with every set of cache mounts of the plan, in the
// order they appear in the rewritten text: RUNs inserted before a user
// line, then that line's mounts, then RUNs inserted after it. f may change
// the mounts in place.
func (p *RewritePlan) eachMounts(f func(line int, ms []CacheMount)) {
	lines := map[int]bool{}
	for l := range p.mounts {
		lines[l] = true
	}
	for _, ins := range p.inserts {
		lines[ins.At] = true
	}
	order := make([]int, 0, len(lines))
	for l := range lines {
		order = append(order, l)
	}
	sort.Ints(order)
	for _, l := range order {
		for _, ins := range p.inserts {
			if ins.At == l && !ins.After {
				f(l, ins.Run.Mounts)
			}
		}
		if len(p.mounts[l]) > 0 {
			f(l, p.mounts[l])
		}
		for _, ins := range p.inserts {
			if ins.At == l && ins.After {
				f(l, ins.Run.Mounts)
			}
		}
	}
}

// render writes the plan into the edits: the inserted steps, each mapped
// to the user's RUN it serves (its COPYs to where they sit, as they fail
// where the user's COPY would), and the mount flags on the user's RUNs.
func (a *Analysis) render() {
	for _, ins := range a.Plan.inserts {
		lines := append(append([]string(nil), ins.Copies...), ins.Run.text())
		owners := make([]int, len(lines))
		owners[len(lines)-1] = ins.Run.Serves
		if ins.After {
			a.Edits.insertAfterFor(ins.At, owners, lines...)
		} else {
			a.Edits.insertBeforeFor(ins.At, owners, lines...)
		}
	}
	for line, ms := range a.Plan.mounts {
		if len(ms) == 0 {
			continue
		}
		flags := make([]string, len(ms))
		for i, m := range ms {
			flags[i] = m.flag()
		}
		a.addFlags(line, flags)
	}
}

func targets(ms []CacheMount) string {
	t := make([]string, len(ms))
	for i, m := range ms {
		t[i] = m.Target
	}
	return strings.Join(t, ", ")
}

// runSummary is a short form of a RUN's command for notes.
func runSummary(rs *RunStep) string {
	s := strings.Join(rs.Cmd.CmdLine, " ")
	if len(rs.Cmd.Files) > 0 {
		s = strings.TrimSpace(rs.Cmd.Files[0].Data)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// addFlags inserts flags right after the RUN keyword on the instruction's
// first line, so the rewritten text keeps the user's line numbers.
func (a *Analysis) addFlags(line int, flags []string) {
	if line < 1 || line > len(a.Lines) {
		return
	}
	text := a.Lines[line-1]
	if r, ok := a.Edits.Replace[line]; ok {
		text = r
	}
	text = strings.TrimSuffix(text, "\r")
	i := len(text) - len(strings.TrimLeft(text, " \t"))
	if len(text) < i+3 || !strings.EqualFold(text[i:i+3], "RUN") {
		return
	}
	j := i + 3
	a.Edits.ReplaceLine(line, text[:j]+" "+strings.Join(flags, " ")+text[j:])
}

// collectConsumers records, per stage, the paths of its filesystem that
// other stages take with COPY --from and RUN --mount=from.
func (a *Analysis) collectConsumers() {
	if len(a.Stages) == 0 {
		return
	}
	for _, s := range a.Stages {
		for _, cmd := range s.Cmds {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From == "" {
					continue
				}
				from, err := a.Expand(s, c.From)
				if err != nil {
					continue
				}
				if src, ok := a.byName[strings.ToLower(from)]; ok {
					src.consumers = append(src.consumers, c.SourcePaths...)
				}
			case *instructions.RunCommand:
				for _, m := range instructions.GetMounts(c) {
					if m.From == "" {
						continue
					}
					if src, ok := a.byName[strings.ToLower(m.From)]; ok {
						p := m.Source
						if p == "" {
							p = "/"
						}
						src.consumers = append(src.consumers, p)
					}
				}
			}
		}
	}
}

func isTarget(a *Analysis, s *Stage) bool {
	return a.Target() == s
}

// Target is the stage the build exports: --target's, or the last.
func (a *Analysis) Target() *Stage {
	t := a.Stages[len(a.Stages)-1]
	if a.Opt.Target != "" {
		if n, ok := a.byName[strings.ToLower(a.Opt.Target)]; ok {
			t = n
		}
	}
	return t
}

func stageName(s *Stage) string {
	if s.name != "" {
		return s.name
	}
	return itoa(s.index)
}

// overlaps reports whether copying src (a path, possibly with wildcards)
// can include anything at or under p, or p's content decides src.
func overlaps(src, p string) bool {
	src = path.Clean("/" + src)
	if i := strings.IndexAny(src, "*?["); i >= 0 {
		src = path.Dir(src[:i+1])
	}
	return Within(p, src) || Within(src, p)
}

// Within reports whether p is dir or below it.
func Within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func SortedEnvKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// mountParents creates, as the step's user, the directories above each
// cache mount that may not exist yet. runc makes missing ones owned by
// root for the length of the step, so a non-root step could not write
// beside its mount: go install into $GOPATH/bin, a dependency's
// postinstall into ~/.cache. One mkdir per point goes after the last
// USER or WORKDIR before the step (userLine), where source edits seldom
// rerun it.
func (a *Analysis) mountParents() {
	type point struct {
		at, serves int
		dirs       []string
	}
	var points []*point
	byAt := map[int]*point{}
	for _, rs := range a.Steps {
		ms := append([]CacheMount(nil), a.Plan.mounts[rs.Line]...)
		before := rs.Line // the step, or the first thing hoist inserts for it
		for _, ins := range a.Plan.inserts {
			if ins.Run.Serves == rs.Line {
				ms = append(ms, ins.Run.Mounts...)
				before = min(before, ins.At)
			}
		}
		if len(ms) == 0 || rs.Acc.UIDKnown && rs.Acc.UID == 0 || !rs.Cmd.PrependShell || rs.EnvErr != "" {
			continue
		}
		home, _ := Home(rs.Env, rs.Acc)
		at := userLine(rs, before)
		p := byAt[at]
		for _, m := range ms {
			d := path.Dir(m.Target)
			if d == "/" || d == "/tmp" || d == path.Clean(home) || underUserMount(rs, d) {
				continue
			}
			if p == nil {
				p = &point{at: at, serves: rs.Line}
				byAt[at] = p
				points = append(points, p)
			}
			if !slices.Contains(p.dirs, d) {
				p.dirs = append(p.dirs, d)
			}
		}
	}
	for _, p := range points {
		sort.Strings(p.dirs)
		a.Plan.Insert(&Insertion{At: p.at, After: true, Run: HoistedRun{Cmd: "mkdir -p " + strings.Join(p.dirs, " ") + " || true", Serves: p.serves}})
		a.Note(RuleCacheMount, p.serves, true, "mkdir -p %s run first as the step's user (after line %d): runc would create missing directories above the cache mounts owned by root, and the step could not write beside them", strings.Join(p.dirs, " "), p.at)
	}
}

func underUserMount(rs *RunStep, d string) bool {
	for t := range rs.existing {
		if Within(d, t) {
			return true
		}
	}
	return false
}

// userLine is the last line of the last USER or WORKDIR instruction of
// rs's stage that starts before line before (the step, or what hoist
// inserts for it), or of the stage's FROM when none does: from there on
// the step's user is set and its home exists (WORKDIR creates directories
// owned by the user).
func userLine(rs *RunStep, before int) int {
	line := 0
	if len(rs.Stage.loc) > 0 {
		line = rs.Stage.loc[len(rs.Stage.loc)-1].End.Line
	}
	for _, c := range rs.Stage.Cmds {
		loc := c.Location()
		if c == instructions.Command(rs.Cmd) || len(loc) == 0 || loc[0].Start.Line >= before {
			break
		}
		switch c.(type) {
		case *instructions.UserCommand, *instructions.WorkdirCommand:
			line = loc[len(loc)-1].End.Line
		}
	}
	return line
}

// StartWords are the words of the ENTRYPOINT and CMD of the exported image
// when s is the target or a stage it is built on (nil otherwise); a shell
// form's are split on blanks and shell operators, enough to find a
// program name.
func (a *Analysis) StartWords(s *Stage) []string {
	t := a.Target()
	if t == nil || !IsAncestorOrSelf(s, t) {
		return nil
	}
	var chain []*Stage
	for x := t; x != nil; x = x.Parent {
		chain = append([]*Stage{x}, chain...)
	}
	words := func(line []string, shell bool) []string {
		if !shell {
			return line
		}
		return strings.FieldsFunc(strings.Join(line, " "), func(r rune) bool {
			return r == ' ' || r == '\t' || r == '&' || r == ';' || r == '|' || r == '(' || r == ')'
		})
	}
	var entry, cmd []string
	for _, x := range chain {
		for _, c := range x.Cmds {
			switch c := c.(type) {
			case *instructions.EntrypointCommand:
				entry = words(c.CmdLine, c.PrependShell)
			case *instructions.CmdCommand:
				cmd = words(c.CmdLine, c.PrependShell)
			}
		}
	}
	return append(entry, cmd...)
}
