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
	flags := map[int][]string{} // user line of a RUN -> mount flags to add
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
			for _, m := range sm.mounts {
				flags[sm.step.line] = append(flags[sm.step.line], m.flag())
			}
		}
	}

	// CI caches (cachefrom.go) work on the flags every rule rendered.
	a.seedCaches(flags)
	a.noteUnverifiedSeeds(flags)
	a.exportCaches(flags)

	for line, fl := range flags {
		a.addFlags(line, fl)
	}
	return nil
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
