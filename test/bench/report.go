package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hoistbuild/hoist/test/testbed"
)

type machineInfo struct {
	NProc    int
	CPU      string
	Mem      string
	Kernel   string
	BuildKit string
	Buildx   string
	Hoist    string
	Others   int // buildkitd processes on the machine besides ours
}

func gatherMachine(ctx context.Context, env *testbed.Env) machineInfo {
	m := machineInfo{NProc: runtime.NumCPU(), CPU: "unknown", Mem: "unknown", Kernel: "unknown", BuildKit: "unknown", Buildx: "unknown"}
	if dt, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(dt), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if dt, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(dt), "\n") {
			if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					m.Mem = fmt.Sprintf("%.1f GiB", kb/1024/1024)
				}
			}
		}
	}
	if dt, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(dt))
	}
	if c, err := env.Client(ctx); err == nil {
		if info, err := c.Info(ctx); err == nil {
			v := info.BuildkitVersion
			m.BuildKit = strings.TrimSpace(v.Package + " " + v.Version + " " + v.Revision)
		}
		c.Close()
	}
	// Binaries built without a version stamp report v0.0.0+unknown; the
	// test bed keeps them in a directory named after the module version.
	if strings.Contains(m.BuildKit, "unknown") {
		m.BuildKit += " (binary " + env.Bins.Buildkitd + ")"
	}
	if out, _, err := env.Buildx(ctx, "", "version"); err == nil {
		m.Buildx = strings.TrimSpace(string(out))
		if strings.Contains(m.Buildx, "unknown") {
			m.Buildx += " (binary " + env.Bins.Buildx + ", test bed pins buildx " + testbed.BuildxVersion + ")"
		}
	}
	m.Others = countBuildkitd() - 1
	return m
}

// hoistVersion names the checkout the frontend image is built from; taken
// just before the test bed builds it, as the tree may change meanwhile.
func hoistVersion(ctx context.Context, repo string) string {
	out, err := testbed.HostCmd(ctx, repo, "git", "describe", "--tags", "--always", "--dirty")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// countBuildkitd counts buildkitd processes: other engineers' test beds
// share the CPUs.
func countBuildkitd() int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if dt, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.TrimSpace(string(dt)) == "buildkitd" {
			n++
		}
	}
	return n
}

func loadAvg() float64 {
	dt, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(dt))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// stat is the median of a cell's successful samples, and the sample
// closest to it (whose log explains the number).
type stat struct {
	OK       bool
	N, Fails int
	Median   float64
	Min, Max float64
	Median1  sample
}

func statOf(ss []sample) stat {
	var st stat
	var xs []float64
	for _, s := range ss {
		if s.Err != "" {
			st.Fails++
			continue
		}
		xs = append(xs, s.Secs)
	}
	if len(xs) == 0 {
		return st
	}
	st.OK, st.N = true, len(xs)
	st.Median = median(xs)
	st.Min, st.Max = xs[0], xs[0]
	best := -1.0
	for _, s := range ss {
		if s.Err != "" {
			continue
		}
		st.Min, st.Max = min(st.Min, s.Secs), max(st.Max, s.Secs)
		if d := abs(s.Secs - st.Median); best < 0 || d < best {
			best, st.Median1 = d, s
		}
	}
	return st
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func (st stat) cell() string {
	if !st.OK {
		if st.Fails > 0 {
			return fmt.Sprintf("failed (%d)", st.Fails)
		}
		return "–"
	}
	s := fmt.Sprintf("%.1f", st.Median)
	if st.N > 1 {
		s += fmt.Sprintf(" (%.1f–%.1f)", st.Min, st.Max)
	}
	if st.Fails > 0 {
		s += fmt.Sprintf(", %d failed", st.Fails)
	}
	return s
}

var scenarioTitle = map[string]string{"cold": "cold", "edit": "one-line edit", "bump": "dependency change"}

func (b *bench) report() string {
	var w strings.Builder
	m := b.machine
	fmt.Fprintf(&w, "## hoist benchmark, %s\n\n", b.started.UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&w, "- machine: %d CPUs (nproc), %s, %s RAM, Linux %s\n", m.NProc, m.CPU, m.Mem, m.Kernel)
	fmt.Fprintf(&w, "- BuildKit: %s (test bed buildkitd, OCI worker, overlayfs); %s\n", m.BuildKit, m.Buildx)
	fmt.Fprintf(&w, "- hoist: %s (`git describe --dirty` of the checkout when the test bed started building the frontend image from it)\n", m.Hoist)
	var loads []float64
	for _, p := range b.plans {
		for _, sc := range scenarios {
			for _, v := range variants {
				for _, s := range b.results[p.Name][sc][v.Name] {
					if s.Load >= 0 && s.Err == "" {
						loads = append(loads, s.Load)
					}
				}
			}
		}
		if r := b.ci[p.Name]; r != nil {
			for _, row := range ciRows {
				for _, s := range r.Samples[row] {
					if s.Load >= 0 && s.Err == "" {
						loads = append(loads, s.Load)
					}
				}
			}
		}
	}
	if len(loads) > 0 {
		sort.Float64s(loads)
		fmt.Fprintf(&w, "- load: 1-minute load average at the start of the timed builds min %.1f / median %.1f / max %.1f on %d CPUs; %d other buildkitd processes were running when the run started (other engineers' test beds)\n",
			loads[0], median(loads), loads[len(loads)-1], m.NProc, m.Others)
	}
	if b.mirror != nil {
		hits, misses, fetched := b.mirror.Stats()
		fmt.Fprintf(&w, "- npm registry: through a caching mirror on 127.0.0.1 (`-npm-mirror`) for %s, filled by one untimed build per example (and dependency change) before the timed ones: %d requests from its memory, %d from the network (%.1f MB), %d of these during the timed builds\n",
			strings.Join(b.mirrorFor, ", "), hits, misses, float64(fetched)/1e6, misses-b.warmMisses)
	}
	fmt.Fprintf(&w, "- elapsed: %s\n\n", time.Since(b.started).Round(time.Second))
	w.WriteString("Seconds of wall time of `docker buildx build --output type=local,dest=DIR` through a buildx remote builder, median of the successful repetitions (min–max in parentheses). ")
	w.WriteString("Each repetition of each variant starts from a **cold** builder: `buildctl prune --all` (all layers, cache mounts and pulled images), then one unrelated `FROM <base>` + `RUN true` build per base image of the example (the first one through hoist, which also loads the hoist frontend image, and with naive-stock-image once more through that image), ")
	w.WriteString("so base images and the frontend image are present as on a CI runner with an image cache, and nothing else is. The **cold** time is the first build of a fresh copy of the example. ")
	w.WriteString("**one-line edit**: a comment line appended to one source file of that copy, rebuilt (only the rebuild timed). ")
	w.WriteString("**dependency change**: a second fresh copy with one dependency moved to another release on the host (`go get mod@ver && go mod tidy`, or `npm install pkg@ver --package-lock-only --save-exact`), rebuilt on the same warm builder. ")
	w.WriteString("Ratios use the medians: speed-up = naive-stock / hoist (higher is better), hoist / optimized (1.00x = as fast as the hand-optimized Dockerfile).\n\n")

	if len(variants) > 0 {
		b.mainTable(&w)
		b.coldPairs(&w)
		b.outsideTable(&w)
	}
	b.ciTable(&w)
	w.WriteString("\nPer example: the edited file and the dependency change.\n\n")
	for _, p := range b.plans {
		dep := "not measured: " + p.BumpWhy
		if p.Bump != nil {
			dep = p.Bump.String()
		}
		fmt.Fprintf(&w, "- %s: edit `%s`; dependency %s; base images %s\n", p.Name, p.Edit, dep, strings.Join(p.Bases, ", "))
	}
	w.WriteString("\nDownloaded module/package counts are not reported: the naive `go build` prints `go: downloading` lines but `go mod download` (optimized and hoist) prints nothing, and npm prints installs, not downloads, so the logs do not give comparable counts.\n")

	b.targets(&w)
	b.details(&w)
	return w.String()
}

// mainTable is the variants side by side in the three scenarios.
func (b *bench) mainTable(w *strings.Builder) {
	w.WriteString("| example | scenario |")
	for _, v := range variants {
		fmt.Fprintf(w, " %s |", v.Title)
	}
	w.WriteString(" speed-up hoist vs naive | hoist / optimized |\n|---|---|" + strings.Repeat("---:|", len(variants)+2) + "\n")
	for _, p := range b.plans {
		for _, sc := range scenarios {
			row := b.results[p.Name][sc]
			if row == nil {
				continue
			}
			st := map[string]stat{}
			fmt.Fprintf(w, "| %s | %s |", p.Name, scenarioTitle[sc])
			for _, v := range variants {
				st[v.Name] = statOf(row[v.Name])
				fmt.Fprintf(w, " %s |", st[v.Name].cell())
			}
			fmt.Fprintf(w, " %s | %s |\n", ratio(st["naive-stock"], st["naive-hoist"]), ratio(st["naive-hoist"], st["optimized-stock"]))
		}
	}
}

var ciTitle = map[string]string{
	"ci-seeded":   "seeded fresh builder",
	"ci-unseeded": "fresh builder, no cache image",
	"ci-warm":     "warm builder",
	"ci-export":   "cache export (push)",
}

// ciTable is the CI cache round trip (-ci-cache), one row per example.
func (b *bench) ciTable(w *strings.Builder) {
	if !b.ciCache {
		return
	}
	w.WriteString("\n### CI caches (`-ci-cache`)\n\n")
	w.WriteString("Through hoist only (naive `Dockerfile`), each repetition: from a cold builder (as above), the first build of a fresh copy with `--build-arg HOIST_CACHE_FROM=<test bed registry>/<example>-cache:bench` (seeded by the image the previous repetition pushed; absent in the first, where hoist warns), ")
	w.WriteString("then **cache export**: the same args with `--target hoist-cache --output type=image,name=<that ref>,push=true`. Then a one-line edit, and the rebuild of the edited copy timed three ways, the first two in alternating order: ")
	w.WriteString("**seeded fresh builder**: cold builder again (prune, base images and hoist image pulled again; the cache image is not, the build pulls it), rebuild with `HOIST_CACHE_FROM`; ")
	w.WriteString("**fresh builder, no cache image**: cold builder, the same rebuild without it; **warm builder**: on the builder that unseeded rebuild left, a second edit and its rebuild. ")
	w.WriteString("Cache image: compressed size in the registry (sum of the manifest's layer sizes), median of the repetitions. App files: the seeded and the unseeded rebuild's exported files compared file by file (mode, owner, content).\n\n")
	w.WriteString("| example |")
	for _, row := range ciRows {
		fmt.Fprintf(w, " %s |", ciTitle[row])
	}
	w.WriteString(" no cache image / seeded | seeded / warm | cache image | app files seeded vs unseeded |\n|---|" + strings.Repeat("---:|", len(ciRows)+3) + "---|\n")
	for _, p := range b.plans {
		r := b.ci[p.Name]
		if r == nil {
			continue
		}
		st := map[string]stat{}
		fmt.Fprintf(w, "| %s |", p.Name)
		for _, row := range ciRows {
			st[row] = statOf(r.Samples[row])
			fmt.Fprintf(w, " %s |", st[row].cell())
		}
		fmt.Fprintf(w, " %s | %s | %s | %s |\n", ratio(st["ci-unseeded"], st["ci-seeded"]), ratio(st["ci-seeded"], st["ci-warm"]), r.sizeCell(), r.sameCell())
	}
	for _, p := range b.plans {
		r := b.ci[p.Name]
		if r == nil {
			continue
		}
		for _, sz := range r.Sizes {
			if sz.Err != "" {
				fmt.Fprintf(w, "\n- %s rep %d: cache image size unknown: %s", p.Name, sz.Rep, sz.Err)
			}
		}
		for i, d := range r.Same {
			if d != "" {
				fmt.Fprintf(w, "\n- %s comparison %d: seeded vs unseeded rebuild exported different files:\n\n```\n%s\n```\n", p.Name, i+1, d)
			}
		}
	}
}

func (r *ciResult) sizeCell() string {
	var xs []float64
	layers := 0
	for _, sz := range r.Sizes {
		if sz.Err == "" {
			xs = append(xs, float64(sz.Bytes))
			layers = sz.Layers
		}
	}
	if len(xs) == 0 {
		return "–"
	}
	sort.Float64s(xs)
	s := mib(int64(median(xs)))
	if lo, hi := mib(int64(xs[0])), mib(int64(xs[len(xs)-1])); lo != hi {
		s += fmt.Sprintf(" (%s–%s)", lo, hi)
	}
	return s + fmt.Sprintf(", %d layers", layers)
}

// sameCell counts the repetitions whose seeded and unseeded rebuilds
// exported the same files.
func (r *ciResult) sameCell() string {
	if len(r.Same) == 0 {
		return "–"
	}
	n := 0
	for _, d := range r.Same {
		if d == "" {
			n++
		}
	}
	if n == len(r.Same) {
		return fmt.Sprintf("identical (%d/%d)", n, len(r.Same))
	}
	return fmt.Sprintf("**differ** in %d/%d", len(r.Same)-n, len(r.Same))
}

func mib(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func ratio(num, den stat) string {
	if !num.OK || !den.OK || den.Median == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2fx", num.Median/den.Median)
}

// pairRatios divides, repetition by repetition, num's time by den's in one
// scenario: the variants of a repetition run back to back, so their ratio
// is steadier than the ratio of the column medians when the load drifts.
func pairRatios(row map[string][]sample, num, den string) []float64 {
	byRep := map[int]float64{}
	for _, s := range row[den] {
		if s.Err == "" && s.Secs > 0 {
			byRep[s.Rep] = s.Secs
		}
	}
	var rs []float64
	for _, s := range row[num] {
		if d, ok := byRep[s.Rep]; ok && s.Err == "" {
			rs = append(rs, s.Secs/d)
		}
	}
	return rs
}

// coldComparisons are the cold ratios listed per repetition, where both
// variants ran.
var coldComparisons = []struct{ num, den, title string }{
	{"naive-hoist", "naive-stock", "hoist / stock"},
	{"naive-hoist", "naive-stock-image", "hoist / stock frontend image"},
	{"naive-stock-image", "naive-stock", "stock frontend image / stock"},
	{"optimized-stock", "naive-stock", "optimized / stock"},
}

// coldPairs lists the cold ratios of each repetition and their median.
func (b *bench) coldPairs(w *strings.Builder) {
	var lines []string
	for _, p := range b.plans {
		row := b.results[p.Name]["cold"]
		var parts []string
		for _, c := range coldComparisons {
			rs := pairRatios(row, c.num, c.den)
			if len(rs) == 0 {
				continue
			}
			xs := make([]string, len(rs))
			for i, r := range rs {
				xs[i] = fmt.Sprintf("%.2f", r)
			}
			parts = append(parts, fmt.Sprintf("%s %s (median %.2f)", c.title, strings.Join(xs, ", "), median(rs)))
		}
		if len(parts) > 0 {
			lines = append(lines, fmt.Sprintf("- %s: %s", p.Name, strings.Join(parts, "; ")))
		}
	}
	if len(lines) > 0 {
		w.WriteString("\nCold builds, ratio within each repetition (in repetition order):\n\n" + strings.Join(lines, "\n") + "\n")
	}
}

// targets compares the measured medians with the goals of issue 4.
func (b *bench) targets(w *strings.Builder) {
	type goal struct {
		example, what string
		ok            func(naive, hoist, opt stat) (float64, bool)
	}
	goals := []goal{
		{"go-app", "edit: hoist ≤ 1.15x optimized", func(_, h, o stat) (float64, bool) { r := h.Median / o.Median; return r, r <= 1.15 }},
		{"go-app", "edit: hoist ≥ 10x faster than naive", func(n, h, _ stat) (float64, bool) { r := n.Median / h.Median; return r, r >= 10 }},
		{"node-npm", "edit: hoist ≥ 5x faster than naive", func(n, h, _ stat) (float64, bool) { r := n.Median / h.Median; return r, r >= 5 }},
	}
	var lines []string
	for _, g := range goals {
		row := b.results[g.example]["edit"]
		if row == nil {
			continue
		}
		if len(row["naive-stock"]) == 0 || len(row["naive-hoist"]) == 0 || len(row["optimized-stock"]) == 0 {
			continue // a variant left out with -variants
		}
		n, h, o := statOf(row["naive-stock"]), statOf(row["naive-hoist"]), statOf(row["optimized-stock"])
		if !n.OK || !h.OK || !o.OK {
			lines = append(lines, fmt.Sprintf("- %s %s: not measured (failed builds)", g.example, g.what))
			continue
		}
		r, ok := g.ok(n, h, o)
		verdict := "met"
		if !ok {
			verdict = "**missed**"
		}
		lines = append(lines, fmt.Sprintf("- %s %s: %.2fx, %s", g.example, g.what, r, verdict))
	}
	// Issue 11: a cold build through hoist no slower than stock, by the
	// median of the per-repetition ratios.
	for _, p := range b.plans {
		rs := pairRatios(b.results[p.Name]["cold"], "naive-hoist", "naive-stock")
		if len(rs) == 0 {
			continue
		}
		r := median(rs)
		verdict := "met"
		if r > 1.02 {
			verdict = "**missed**"
		}
		lines = append(lines, fmt.Sprintf("- %s cold: hoist ≤ 1.02x stock (median of %d per-repetition ratios): %.2fx, %s", p.Name, len(rs), r, verdict))
	}
	lines = append(lines, b.ciTargets()...)
	if len(lines) > 0 {
		w.WriteString("\nTargets:\n\n" + strings.Join(lines, "\n") + "\n")
	}
}

// ciTargets compares the CI cache rows with the goals of issue 7: the
// seeded fresh builder far faster than an unseeded one and close to a
// warm builder, and the app image unchanged by the seeding.
func (b *bench) ciTargets() []string {
	r := b.ci["go-app"]
	if r == nil {
		return nil
	}
	var lines []string
	sd, un, wm := statOf(r.Samples["ci-seeded"]), statOf(r.Samples["ci-unseeded"]), statOf(r.Samples["ci-warm"])
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	if !sd.OK || !un.OK {
		lines = append(lines, "- go-app CI cache: seeded fresh builder ≥ 5x faster than a fresh builder without the cache image: not measured (failed builds)")
	} else {
		x := un.Median / sd.Median
		lines = append(lines, fmt.Sprintf("- go-app CI cache: seeded fresh builder ≥ 5x faster than a fresh builder without the cache image: %.2fx, %s", x, verdict(x >= 5)))
	}
	if !sd.OK || !wm.OK {
		lines = append(lines, "- go-app CI cache: seeded fresh builder ≤ 3x the warm-builder edit rebuild: not measured (failed builds)")
	} else {
		x := sd.Median / wm.Median
		lines = append(lines, fmt.Sprintf("- go-app CI cache: seeded fresh builder ≤ 3x the warm-builder edit rebuild: %.2fx, %s", x, verdict(x <= 3)))
	}
	if len(r.Same) == 0 {
		lines = append(lines, "- go-app CI cache: app files unchanged by HOIST_CACHE_FROM (file by file): not compared (failed builds)")
	} else {
		same := r.sameCell()
		lines = append(lines, fmt.Sprintf("- go-app CI cache: app files unchanged by HOIST_CACHE_FROM (file by file): %s, %s", same, verdict(strings.HasPrefix(same, "identical"))))
	}
	return lines
}

// details lists, for the median repetition of each cell, the build steps
// that took at least half a second: where the time went.
func (b *bench) details(w *strings.Builder) {
	w.WriteString("\nSlowest steps of the median repetition of each cell (from the plain progress logs, ≥0.5 s, not cached):\n\n")
	for _, p := range b.plans {
		for _, sc := range scenarios {
			for _, v := range variants {
				ss := b.results[p.Name][sc][v.Name]
				st := statOf(ss)
				for _, s := range ss {
					if s.Err != "" {
						fmt.Fprintf(w, "- %s %s %s rep %d FAILED: %s (log %s)\n", p.Name, sc, v.Name, s.Rep, firstLine(s.Err), s.Log)
					}
				}
				if !st.OK {
					continue
				}
				steps, err := slowSteps(st.Median1.Log, 0.5)
				if err != nil {
					continue
				}
				fmt.Fprintf(w, "- %s %s %s (rep %d, %.1fs): %s\n", p.Name, sc, v.Name, st.Median1.Rep, st.Median1.Secs, steps)
			}
		}
		r := b.ci[p.Name]
		if r == nil {
			continue
		}
		for _, row := range ciRows {
			ss := r.Samples[row]
			for _, s := range ss {
				if s.Err != "" {
					fmt.Fprintf(w, "- %s CI %s rep %d FAILED: %s (log %s)\n", p.Name, ciTitle[row], s.Rep, firstLine(s.Err), s.Log)
				}
			}
			st := statOf(ss)
			if !st.OK {
				continue
			}
			if steps, err := slowSteps(st.Median1.Log, 0.5); err == nil {
				fmt.Fprintf(w, "- %s CI %s (rep %d, %.1fs): %s\n", p.Name, ciTitle[row], st.Median1.Rep, st.Median1.Secs, steps)
			}
		}
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

var (
	reVertex = regexp.MustCompile(`^#(\d+) (.*)$`)
	reDone   = regexp.MustCompile(`^DONE (\d+(?:\.\d+)?)s$`)
	reOutput = regexp.MustCompile(`^\d+\.\d+ `)
)

// slowSteps parses BuildKit's plain progress: "#N name" opens a vertex,
// "#N DONE 1.2s" closes it, "#N 0.123 text" is its output.
func slowSteps(logPath string, minSecs float64) (string, error) {
	all, err := logSteps(logPath)
	if err != nil {
		return "", err
	}
	var steps []step
	for _, s := range all {
		if s.secs >= minSecs {
			steps = append(steps, s)
		}
	}
	if len(steps) == 0 {
		return "no step ≥ " + strconv.FormatFloat(minSecs, 'f', -1, 64) + "s", nil
	}
	var parts []string
	for _, s := range steps {
		n := s.name
		if len(n) > 90 {
			n = n[:87] + "..."
		}
		parts = append(parts, fmt.Sprintf("`%s` %.1fs", strings.ReplaceAll(n, "`", "'"), s.secs))
	}
	return strings.Join(parts, "; "), nil
}

// step is one vertex of a build that ran (not cached) and how long.
type step struct {
	name string
	secs float64
}

// logSteps reads the finished vertices of a plain progress log, in the
// order they started.
func logSteps(logPath string) ([]step, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]string{}
	var order []string
	done := map[string]float64{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := reVertex.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		id, rest := m[1], m[2]
		if _, ok := names[id]; !ok {
			if reOutput.MatchString(rest) || rest == "CACHED" || strings.HasPrefix(rest, "DONE ") {
				continue
			}
			names[id] = rest
			order = append(order, id)
			continue
		}
		if d := reDone.FindStringSubmatch(rest); d != nil {
			done[id], _ = strconv.ParseFloat(d[1], 64)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	var steps []step
	for _, id := range order {
		if s, ok := done[id]; ok {
			steps = append(steps, step{names[id], s})
		}
	}
	return steps, nil
}

// reRunStep matches the progress name of a Dockerfile RUN: "[stage n/m] RUN ...".
var reRunStep = regexp.MustCompile(`^\[[^\]]+\] RUN `)

// outsideRuns is a build's wall time less the time its RUN steps took:
// the frontend, context transfers, COPY and export, without the commands'
// own time (downloads, compiling), which varies far more from one build to
// the next. Steps running in parallel make it smaller.
func outsideRuns(s sample) (float64, bool) {
	if s.Err != "" {
		return 0, false
	}
	steps, err := logSteps(s.Log)
	if err != nil {
		return 0, false
	}
	t := s.Secs
	for _, st := range steps {
		if reRunStep.MatchString(st.name) {
			t -= st.secs
		}
	}
	return t, true
}

// outsideTable lists, per example and scenario, the median time outside
// the RUN steps of each variant.
func (b *bench) outsideTable(w *strings.Builder) {
	var rows []string
	for _, p := range b.plans {
		for _, sc := range scenarios {
			row := b.results[p.Name][sc]
			if row == nil {
				continue
			}
			line := fmt.Sprintf("| %s | %s |", p.Name, scenarioTitle[sc])
			for _, v := range variants {
				var xs []float64
				for _, s := range row[v.Name] {
					if t, ok := outsideRuns(s); ok {
						xs = append(xs, t)
					}
				}
				if len(xs) == 0 {
					line += " – |"
					continue
				}
				line += fmt.Sprintf(" %.2f (%.2f–%.2f) |", median(xs), slices.Min(xs), slices.Max(xs))
			}
			rows = append(rows, line)
		}
	}
	if len(rows) == 0 {
		return
	}
	w.WriteString("\nTime outside the RUN steps (wall time less the RUN steps' durations from the progress log: frontend, context transfers, COPY, export), median (min–max):\n\n| example | scenario |")
	for _, v := range variants {
		fmt.Fprintf(w, " %s |", v.Title)
	}
	w.WriteString("\n|---|---|" + strings.Repeat("---:|", len(variants)) + "\n" + strings.Join(rows, "\n") + "\n")
}
