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
	flags := map[int][]string{}         // user line of a RUN -> mount flags to add
	firstMod := map[*stage][]*runStep{} // steps with the module cache mounted
	// steps whose module cache stays in the layer only because their
	// stage is exported: their download is hoisted with no mount, unless
	// another Go step of the stage keeps the cache for another reason
	inLayerMod := map[*stage][]*runStep{}
	inLayerNo := map[*stage]bool{}
	goSteps := map[*runStep]*goStep{}

	if a.opt.Config.Go {
		for _, rs := range a.steps {
			g := analyseGo(rs)
			if g == nil && len(a.facts(rs).opaque) > 0 && a.hasGo(rs) {
				g = opaqueGo(rs, a.facts(rs).opaque[0])
			}
			if g != nil {
				goSteps[rs] = g
				f := a.facts(rs)
				for _, p := range g.cleans {
					if p != "" {
						f.removes = append(f.removes, pathRef{abs: p, line: rs.line})
					}
				}
				for _, p := range g.cleanWrites {
					if p != "" {
						f.writes = append(f.writes, pathRef{abs: p, line: rs.line})
					}
				}
			}
		}
		users := func(o *runStep) bool { return goSteps[o] != nil }
		for _, rs := range a.steps {
			g := goSteps[rs]
			if g == nil {
				continue
			}
			if rs.off {
				a.note(RuleOff, rs.line, false, "left alone: # hoist:off")
				continue
			}
			if len(g.why) > 0 {
				a.note(RuleNoCacheMount, rs.line, false, "no Go cache mounts: %s", strings.Join(g.why, "; "))
				continue
			}
			modOK, buildOK := g.modules && g.modcache != "", g.buildCache
			if modOK {
				spec := cacheSpec{what: "Go module cache", target: g.modcache, content: true}
				v := a.stepVerdict(rs, spec)
				stepV := v
				if v.ok {
					v = a.contentVerdict(rs, spec, users)
				}
				if !v.ok {
					modOK = false
					if g.project && !g.vendor && isExported(a, rs.stage) {
						if ok, why := a.downloadInLayer(rs, spec, stepV, users); ok {
							inLayerMod[rs.stage] = append(inLayerMod[rs.stage], rs)
						} else if why != "" {
							inLayerNo[rs.stage] = true
							if a.opt.Config.Steps {
								a.note(RuleNotHoisted, rs.line, false, "go mod download not hoisted into the layer: %s", why)
							}
						}
					}
					if v.why == "" {
						// the user's own mount of it
					} else if v.rule == RuleUserMount {
						a.note(v.rule, rs.line, false, "no mount of the Go module cache %s: %s", g.modcache, v.why)
					} else {
						a.note(v.rule, rs.line, false, "Go module cache %s kept in the image: %s", g.modcache, v.why)
					}
				}
			}
			if buildOK && g.gocache != "" {
				v := a.stepVerdict(rs, cacheSpec{what: "Go build cache", target: g.gocache})
				buildOK = v.ok
				if !v.ok && v.why != "" {
					a.note(v.rule, rs.line, false, "no mount of the Go build cache %s: %s", g.gocache, v.why)
				}
			}
			ms := a.goMounts(rs, g, modOK, buildOK)
			if len(ms) == 0 {
				continue
			}
			rs.mounts = ms
			for _, m := range ms {
				flags[rs.line] = append(flags[rs.line], m.flag())
			}
			if g.opaque != "" {
				a.note(RuleOpaqueStep, rs.line, true, "cache mounts %s added to RUN %s: %s may run go, which this stage has", targets(ms), runSummary(rs), g.opaque)
			} else {
				a.note(RuleCacheMount, rs.line, true, "cache mounts %s added to RUN %s", targets(ms), runSummary(rs))
			}
			if g.modules && g.project && !g.vendor && modOK {
				firstMod[rs.stage] = append(firstMod[rs.stage], rs)
			}
		}
	}

	if a.opt.Config.Steps {
		hoisted := map[*stage]bool{}
		for _, s := range a.stages {
			cands, inLayer := firstMod[s], false
			if len(cands) == 0 && !inLayerNo[s] {
				cands, inLayer = inLayerMod[s], true
			}
			if len(cands) == 0 {
				continue
			}
			if hoisted[s.parent] {
				// modules were downloaded in the stage this one builds on
				hoisted[s] = true
				continue
			}
			hoisted[s] = true
			// One download per module the stage's go commands use: the
			// first step's, then each other directory's. The first step
			// hoist knows runs go decides; opaque steps before it are
			// tried quietly, as they may run go or not.
			roots := map[string]bool{}
			rs := cands[0]
			for _, c := range cands {
				cg := goSteps[c]
				quiet := cg.opaque != ""
				done, err := a.hoistGo(ctx, c, goSteps, moduleUse{dir: cg.dir, goEnv: cg.goEnv, download: cg.download, inLayer: inLayer}, roots, false, quiet)
				if err != nil {
					return err
				}
				rs = c
				if done || !quiet {
					break
				}
			}
			g := goSteps[rs]
			for _, o := range a.steps {
				og := goSteps[o]
				if o.stage != s || o.line < rs.line || og == nil || !og.modules || og.vendor || len(og.why) > 0 || o.off {
					continue
				}
				for _, u := range og.uses {
					if u.dir == "" || u.dir == g.dir {
						continue
					}
					u.inLayer = inLayer
					if _, err := a.hoistGo(ctx, o, goSteps, u, roots, true, false); err != nil {
						return err
					}
				}
			}
		}
	}

	if a.opt.Config.Node {
		if err := a.nodeRule(ctx, flags); err != nil {
			return err
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
