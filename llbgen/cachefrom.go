package llbgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hoistbuild/hoist/internal/cachetool"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Caches that survive ephemeral CI builders. Cache mounts live on one
// builder, and --cache-to exports layers, never cache mounts, so a fresh CI
// runner starts with empty ones. Two halves fix that:
//
//   - --target hoist-cache is an image with one directory per cache id
//     holding the current content of every cache mount hoist adds; CI
//     pushes it after the build.
//   - HOIST_CACHE_FROM=<that image> makes every cache mount hoist adds start
//     from the image's directory for its id (BuildKit's cache mount
//     from=/source=).
//
// Both work on the plan's cache mounts (rewritePlan: the user's RUNs' and
// the inserted steps'), whatever ecosystem made them, not on Go or Node
// specifics; a cache kind that declares keep (the Go build cache) is
// trimmed on export and stamped on seeding. What runs in the added steps is hoist's own
// binary (ToolBinary, package cachetool) from hoist's own image
// (Options.Tool), never a tool of the user's base images, which may have no
// shell at all.

// CacheTarget is the synthetic target holding hoist's cache mounts.
const CacheTarget = "hoist-cache"

// CacheIDsLabel is the label of a hoist-cache image listing, space
// separated, the cache ids it has a directory for. Seeding uses only those:
// a cache mount whose source directory is missing fails the RUN.
const CacheIDsLabel = "org.hoistbuild.cache-ids"

// ToolBinary is the frontend binary in hoist's image; its cachetool
// subcommands copy caches out and stamp seeded ones.
const ToolBinary = "/bin/hoist-frontend"

// CacheImage is a cache image to seed from.
type CacheImage struct {
	// Ref is the normalized reference, pinned by the digest the frontend
	// pulled (registry.example.com/app/cache:latest@sha256:…): every seeded
	// mount reads the layers that were checked, and the step that stamps
	// seeded Go build caches is keyed by it, so a new cache image gets a new
	// stamp. It never collides with a stage name.
	Ref string
	// IDs are the cache ids the image holds (its CacheIDsLabel).
	IDs []string
}

// CacheIDs parses a CacheIDsLabel value.
func CacheIDs(label string) []string { return strings.Fields(label) }

// cacheSrc is where an export step mounts the cache it copies out.
const cacheSrc = "/run/hoist-cache-src"

// stampFile is where the stamp step writes the trim stamp of seeded Go
// build caches.
const stampFile = "/hoist-cache-stamp/trim.txt"

// numericFrom finds COPY --from=<stage index>: stages hoist inserts before
// the user's would shift those indexes.
var numericFrom = regexp.MustCompile(`--from=[0-9]+\b`)

// trimmed reports whether the cache an id names is trimmed at export and
// seeded with a trim stamp, and how long its unused entries are kept.
func trimmed(id string) (time.Duration, bool) {
	k, ok := cacheKindOf(id)
	return k.Keep, ok && k.Keep > 0
}

// toolRun renders a RUN of hoist's binary in exec form: the stage is
// hoist's own image, which has no shell.
func toolRun(flags []string, args ...string) string {
	argv, _ := json.Marshal(append([]string{ToolBinary}, args...))
	return strings.Join(append(append([]string{"RUN"}, flags...), string(argv)), " ")
}

// freeStageName returns base, or base-2, base-3, ... if the Dockerfile
// has a stage of that name.
func (a *Analysis) freeStageName(base string) string {
	name := base
	for i := 2; ; i++ {
		if _, taken := a.byName[name]; !taken {
			return name
		}
		name = base + "-" + strconv.Itoa(i)
	}
}

// appendedLine is a line after the user's last one, mapped to user.
type appendedLine struct {
	text string
	user int
}

// seedCaches adds from=/source= to every cache mount of the plan whose id
// the cache image holds.
//
// A trimmed cache (cacheKind.keep: the Go build cache) is seeded from the
// image plus a fresh trim stamp (cachetool.WriteStamp says why), made by
// two stages inserted before the user's first: one runs hoist's binary to
// write the stamp, the other is the cache image with the stamp copied in,
// and the mounts name it. The
// stamp step's cache key is the cache image's digest, so it runs once per
// builder and cache image: a persistent builder keeps one seeded cache
// mount, as with the image itself.
func (a *Analysis) seedCaches() {
	ci := a.Opt.CacheFrom
	if ci == nil || ci.Ref == "" {
		return
	}
	have := map[string]bool{}
	for _, id := range ci.IDs {
		have[id] = true
	}
	var seedStage, noStamp string
	switch {
	case a.Opt.Tool == "" || len(a.Stages) == 0:
		noStamp = "hoist does not know its own image"
	case numericFrom.Match(a.dt):
		noStamp = "a COPY --from names a stage by index, which the stamp's stages would shift"
	default:
		seedStage = a.freeStageName("hoist-cache-seed")
	}
	unstamped := map[int][]string{}
	var stamped []CacheMount
	seeded, missing := map[int][]string{}, map[int][]string{}
	seed := func(line int, m *CacheMount) {
		if m.from != "" {
			return
		}
		if !have[m.ID] {
			missing[line] = appendNew(missing[line], m.ID)
			return
		}
		m.from, m.source = ci.Ref, "/"+m.ID
		if _, trim := trimmed(m.ID); trim && seedStage != "" {
			m.from = seedStage
			if !slicesContainsID(stamped, m.ID) {
				stamped = append(stamped, *m)
			}
		} else if trim {
			unstamped[line] = appendNew(unstamped[line], m.ID)
		}
		seeded[line] = appendNew(seeded[line], m.ID)
	}
	a.Plan.eachMounts(func(line int, ms []CacheMount) {
		for i := range ms {
			seed(line, &ms[i])
		}
	})
	if len(stamped) > 0 {
		a.Edits.insertBefore(StartLine(a.Stages[0].loc), a.seedStages(seedStage, stamped)...)
	}
	for _, l := range sortedLines(seeded) {
		a.Note(RuleCacheFrom, l, true, "cache %s seeded from %s when this builder has no copy of it", strings.Join(seeded[l], ", "), ci.Ref)
	}
	for _, l := range sortedLines(unstamped) {
		a.Note(RuleCacheFrom, l, false, "cache %s seeded without a fresh trim stamp (%s): go may trim what its first command does not use", strings.Join(unstamped[l], ", "), noStamp)
	}
	for _, l := range sortedLines(missing) {
		a.Note(RuleCacheFrom, l, false, "cache %s not in %s (label %s): it starts empty", strings.Join(missing[l], ", "), ci.Ref, CacheIDsLabel)
	}
}

// seedStages are the stages trimmed caches are seeded from: a stamp
// written by hoist's binary, on the build platform, copied onto the cache
// image with each cache's ownership.
func (a *Analysis) seedStages(seedStage string, stamped []CacheMount) []string {
	ci := a.Opt.CacheFrom
	stampStage := a.freeStageName("hoist-cache-stamp")
	lines := []string{
		fmt.Sprintf("FROM --platform=$BUILDPLATFORM %s AS %s", a.Opt.Tool, stampStage),
		toolRun(nil, cachetool.Stamp, "-from", ci.Ref, stampFile),
		fmt.Sprintf("FROM %s AS %s", ci.Ref, seedStage),
	}
	for _, m := range stamped {
		cp := []string{"COPY", "--from=" + stampStage}
		if m.UID != nil || m.GID != nil {
			uid, gid := 0, 0
			if m.UID != nil {
				uid = *m.UID
			}
			if m.GID != nil {
				gid = *m.GID
			}
			cp = append(cp, fmt.Sprintf("--chown=%d:%d", uid, gid))
		}
		if m.Mode != "" {
			// The cache is open to a user hoist knows only by name.
			cp = append(cp, "--chmod=666")
		}
		lines = append(lines, strings.Join(append(cp, stampFile, "/"+m.ID+"/trim.txt"), " "))
	}
	return lines
}

func slicesContainsID(ms []CacheMount, id string) bool {
	for _, m := range ms {
		if m.ID == id {
			return true
		}
	}
	return false
}

func appendNew(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func sortedLines(m map[int][]string) []int {
	ls := make([]int, 0, len(m))
	for l := range m {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	return ls
}

// exportCaches appends, for --target hoist-cache, one stage per cache id
// that mounts the cache exactly as the build does (same id, sharing,
// ownership and seed, so the same cache on the builder) and copies it out
// with hoist's binary, in hoist's image on the build platform, then a
// scratch stage hoist-cache with all of them.
//
// A copy step's cache key does not cover the cache mount's content, so
// each export stage declares ARG HOIST_CACHE_EPOCH, which the frontend sets
// to a new value every build: the copies always run again, while the base
// image and everything else stay cached. (--no-cache-filter would need
// every CI job to pass it, and a per-build value in the text would make the
// rewrite differ each time.)
func (a *Analysis) exportCaches() {
	if !strings.EqualFold(a.Opt.Target, CacheTarget) {
		return
	}
	if s, ok := a.byName[CacheTarget]; ok {
		a.Note(RuleCacheExport, StartLine(s.loc), false, "the Dockerfile has its own stage %s: hoist adds no cache export", CacheTarget)
		return
	}
	type found struct {
		m    CacheMount
		line int
	}
	var mounts []found
	seen := map[string]bool{}
	a.Plan.eachMounts(func(line int, ms []CacheMount) {
		for _, m := range ms {
			if !seen[m.ID] {
				seen[m.ID] = true
				mounts = append(mounts, found{m, line})
			}
		}
	})

	last := lastLine(a.dt)
	emit := func(user int, format string, args ...any) {
		a.appended = append(a.appended, appendedLine{text: fmt.Sprintf(format, args...), user: user})
	}
	var names, ids []string
	n := 0
	for _, f := range mounts {
		if a.Opt.Tool == "" {
			a.Note(RuleCacheExport, f.line, false, "cache %s not in target %s: hoist does not know its own image to copy it out with", f.m.ID, CacheTarget)
			continue
		}
		var name string
		for {
			n++
			name = CacheTarget + "-" + strconv.Itoa(n)
			if _, taken := a.byName[name]; !taken {
				break
			}
		}
		src := f.m
		src.Target = cacheSrc
		args := []string{cachetool.Export}
		kept := "all of it"
		if keep, trim := trimmed(f.m.ID); trim {
			args = append(args, "-keep", keep.String())
			kept = "entries used in the last " + strings.TrimSuffix(keep.String(), "0m0s")
		}
		args = append(args, cacheSrc, "/hoist-cache/"+f.m.ID)
		emit(f.line, "FROM --platform=$BUILDPLATFORM %s AS %s", a.Opt.Tool, name)
		emit(f.line, "USER 0:0")
		emit(f.line, "ARG %s", ArgCacheEpoch)
		emit(f.line, "%s", toolRun([]string{src.flag()}, args...))
		names = append(names, name)
		ids = append(ids, f.m.ID)
		a.Note(RuleCacheExport, f.line, true, "cache %s (%s) exported by target %s: %s", f.m.ID, f.m.Target, CacheTarget, kept)
	}
	a.appended = append(a.appended, cacheTargetStage(last, names, ids)...)
	if len(mounts) == 0 {
		a.notes = append(a.notes, emptyCacheNote(last))
	}
}

// cacheTargetStage is the hoist-cache stage itself, on the user's last
// line: the export stages' directories merged, and the label listing their
// cache ids.
func cacheTargetStage(last int, names, ids []string) []appendedLine {
	out := []appendedLine{{text: "FROM scratch AS " + CacheTarget, user: last}}
	for _, name := range names {
		out = append(out, appendedLine{text: fmt.Sprintf("COPY --from=%s /hoist-cache/ /", name), user: last})
	}
	return append(out, appendedLine{text: fmt.Sprintf("LABEL %s=%q", CacheIDsLabel, strings.Join(ids, " ")), user: last})
}

func emptyCacheNote(last int) Note {
	return Note{Line: last, Rule: RuleCacheExport.Name, Changed: true, Message: fmt.Sprintf("target %s is empty: hoist adds no cache mounts to this Dockerfile", CacheTarget)}
}

// lastLine is the number of the text's last line.
func lastLine(dt []byte) int {
	n := bytes.Count(dt, []byte("\n"))
	if len(dt) > 0 && !bytes.HasSuffix(dt, []byte("\n")) {
		n++
	}
	return n
}

// emptyCacheExport answers --target hoist-cache for a Dockerfile hoist
// leaves alone (no tool it has rules for, or one it cannot follow): an empty
// cache image, so a CI job exporting caches for every repository works for
// this one too, as it does when analysis finds no step to mount caches on.
func emptyCacheExport(res *Result, stages []instructions.Stage, target string) *Result {
	if !strings.EqualFold(target, CacheTarget) {
		return res
	}
	for _, st := range stages {
		if strings.EqualFold(st.Name, CacheTarget) {
			return res
		}
	}
	last := lastLine(res.Dockerfile)
	res.Dockerfile, res.Lines = appendLines(res.Dockerfile, res.Lines, cacheTargetStage(last, nil, nil))
	res.Notes = append(res.Notes, emptyCacheNote(last))
	return res
}

// appendLines adds lines after the last line of a rewritten text and to its
// line map.
func appendLines(dt []byte, m *LineMap, add []appendedLine) ([]byte, *LineMap) {
	if len(add) == 0 {
		return dt, m
	}
	n := bytes.Count(dt, []byte("\n"))
	if len(dt) > 0 && !bytes.HasSuffix(dt, []byte("\n")) {
		n++
	}
	out := &LineMap{}
	last := 0
	for i := 1; i <= n; i++ {
		out.user = append(out.user, m.Line(i))
		out.edited = append(out.edited, m.isEdited(i))
		at, ins := m.pos(i)
		out.at, out.inserted = append(out.at, at), append(out.inserted, ins)
		last = max(last, at)
	}
	var b bytes.Buffer
	b.Write(dt)
	if len(dt) > 0 && !bytes.HasSuffix(dt, []byte("\n")) {
		b.WriteByte('\n')
	}
	for _, l := range add {
		b.WriteString(l.text)
		b.WriteByte('\n')
		out.user = append(out.user, l.user)
		out.edited = append(out.edited, true)
		out.at, out.inserted = append(out.at, last), append(out.inserted, true)
	}
	return b.Bytes(), out
}
