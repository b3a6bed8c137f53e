package llbgen

import (
	"context"
	"path"
	"sort"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// rewrite decides every change after the walk and records it as edits.
func (a *analysis) rewrite(ctx context.Context) error {
	a.collectConsumers()
	if err := a.readScripts(ctx); err != nil {
		return err
	}
	a.plan.mounts = map[int][]cacheMount{}
	for _, e := range ecosystems {
		if !e.enabled(a.opt.Config) {
			continue
		}
		p := e.start(a)
		if err := p.analyse(ctx); err != nil {
			return err
		}
		p.mount()
		if a.opt.Config.Steps {
			if err := p.hoist(ctx); err != nil {
				return err
			}
		}
		for _, sm := range p.done() {
			a.plan.mounts[sm.step.line] = append(a.plan.mounts[sm.step.line], sm.mounts...)
		}
	}

	// CI caches (cachefrom.go) work on the plan's mounts.
	a.seedCaches()
	a.noteUnverifiedSeeds()
	a.exportCaches()

	a.render()
	return nil
}

// rewritePlan is the rewrite as data: the cache mounts added to the
// user's RUNs and the steps hoist inserts. render is the only code that
// turns it into Dockerfile text.
type rewritePlan struct {
	mounts  map[int][]cacheMount // user line of a RUN -> cache mounts added to it
	inserts []*insertion
}

// insertion is a hoisted download: COPYs of the manifests, then the RUN.
type insertion struct {
	at     int      // the user line it is inserted at
	after  bool     // after that line (a COPY of the manifests), not before
	copies []string // the COPY lines, rendered
	run    hoistedRun
}

// hoistedRun is an inserted RUN.
type hoistedRun struct {
	mounts []cacheMount
	flags  []string // the user's RUN flags it passes through (secrets, network)
	cmd    string
	serves int // the user's RUN it downloads for: its failure is reported there
}

func (r hoistedRun) text() string {
	words := []string{"RUN"}
	for _, m := range r.mounts {
		words = append(words, m.flag())
	}
	words = append(words, r.flags...)
	return strings.Join(append(words, r.cmd), " ")
}

func (p *rewritePlan) insert(ins *insertion) { p.inserts = append(p.inserts, ins) }

// eachMounts calls f with every set of cache mounts of the plan, in the
// order they appear in the rewritten text: RUNs inserted before a user
// line, then that line's mounts, then RUNs inserted after it. f may change
// the mounts in place.
func (p *rewritePlan) eachMounts(f func(line int, ms []cacheMount)) {
	lines := map[int]bool{}
	for l := range p.mounts {
		lines[l] = true
	}
	for _, ins := range p.inserts {
		lines[ins.at] = true
	}
	order := make([]int, 0, len(lines))
	for l := range lines {
		order = append(order, l)
	}
	sort.Ints(order)
	for _, l := range order {
		for _, ins := range p.inserts {
			if ins.at == l && !ins.after {
				f(l, ins.run.mounts)
			}
		}
		if len(p.mounts[l]) > 0 {
			f(l, p.mounts[l])
		}
		for _, ins := range p.inserts {
			if ins.at == l && ins.after {
				f(l, ins.run.mounts)
			}
		}
	}
}

// render writes the plan into the edits: the inserted steps, each mapped
// to the user's RUN it serves (its COPYs to where they sit, as they fail
// where the user's COPY would), and the mount flags on the user's RUNs.
func (a *analysis) render() {
	for _, ins := range a.plan.inserts {
		lines := append(append([]string(nil), ins.copies...), ins.run.text())
		owners := make([]int, len(lines))
		owners[len(lines)-1] = ins.run.serves
		if ins.after {
			a.edits.insertAfterFor(ins.at, owners, lines...)
		} else {
			a.edits.insertBeforeFor(ins.at, owners, lines...)
		}
	}
	for line, ms := range a.plan.mounts {
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

func targets(ms []cacheMount) string {
	t := make([]string, len(ms))
	for i, m := range ms {
		t[i] = m.target
	}
	return strings.Join(t, ", ")
}

// runSummary is a short form of a RUN's command for notes.
func runSummary(rs *runStep) string {
	s := strings.Join(rs.cmd.CmdLine, " ")
	if len(rs.cmd.Files) > 0 {
		s = strings.TrimSpace(rs.cmd.Files[0].Data)
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// addFlags inserts flags right after the RUN keyword on the instruction's
// first line, so the rewritten text keeps the user's line numbers.
func (a *analysis) addFlags(line int, flags []string) {
	if line < 1 || line > len(a.lines) {
		return
	}
	text := a.lines[line-1]
	if r, ok := a.edits.replace[line]; ok {
		text = r
	}
	text = strings.TrimSuffix(text, "\r")
	i := len(text) - len(strings.TrimLeft(text, " \t"))
	if len(text) < i+3 || !strings.EqualFold(text[i:i+3], "RUN") {
		return
	}
	j := i + 3
	a.edits.replaceLine(line, text[:j]+" "+strings.Join(flags, " ")+text[j:])
}

// collectConsumers records, per stage, the paths of its filesystem that
// other stages take with COPY --from and RUN --mount=from.
func (a *analysis) collectConsumers() {
	if len(a.stages) == 0 {
		return
	}
	for _, s := range a.stages {
		for _, cmd := range s.cmds {
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				if c.From == "" {
					continue
				}
				from, err := a.expand(s, c.From)
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

func isTarget(a *analysis, s *stage) bool {
	t := a.stages[len(a.stages)-1]
	if a.opt.Target != "" {
		if n, ok := a.byName[strings.ToLower(a.opt.Target)]; ok {
			t = n
		}
	}
	return t == s
}

func stageName(s *stage) string {
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
	return within(p, src) || within(src, p)
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")
}

func sortedEnvKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
