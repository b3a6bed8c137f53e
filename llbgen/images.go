package llbgen

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// How a Dockerfile uses an image.
const (
	UseFrom      = "FROM"
	UseCopyFrom  = "COPY --from"
	UseMountFrom = "RUN --mount=from"
)

// ImageUse is one image reference a Dockerfile needs for one target
// platform, found the way dockerfile2llb finds it.
type ImageUse struct {
	// Name is the reference as dockerfile2llb asks for it (after ARG
	// expansion, tag "latest" added), fully qualified:
	// docker.io/library/golang:1.26.
	Name reference.Named
	// Platform is the platform the image is resolved for: FROM --platform,
	// else the target platform.
	Platform ocispecs.Platform
	Kind     string         // UseFrom, UseCopyFrom or UseMountFrom
	Location []parser.Range // the user's instruction
}

// ContextName is the named-context key dockerui looks up for this image
// (frontend/dockerui Client.NamedContext): the familiar name without
// ":latest".
func (u ImageUse) ContextName() string {
	return ContextName(u.Name)
}

// ContextName is the named-context name dockerui derives from an image ref.
func ContextName(n reference.Named) string {
	return strings.TrimSuffix(reference.FamiliarString(n), ":latest")
}

// PlatformKey is the platform suffix dockerui uses in context:<name>::<platform>.
func PlatformKey(p ocispecs.Platform) string {
	return platforms.FormatAll(platforms.Normalize(p))
}

// ImageOptions is what image discovery depends on besides the text.
type ImageOptions struct {
	BuildArgs      map[string]string
	Target         string
	TargetPlatform *ocispecs.Platform // nil: BuildPlatform
	BuildPlatform  *ocispecs.Platform // nil: this machine's
	// HasContext reports whether the user supplied a named context for a
	// name; such stages and images are not looked up.
	HasContext func(name string, p ocispecs.Platform) bool
}

// FindImages lists the images a build of opt.Target needs, in Dockerfile
// order, one entry per (reference, platform): FROM lines after ARG expansion
// (stage names and scratch skipped), COPY --from=<image> and
// RUN --mount=from=<image>. Stages the target does not reach are skipped, as
// dockerfile2llb skips them. Errors are those of an invalid Dockerfile.
func FindImages(dt []byte, opt ImageOptions) ([]ImageUse, error) {
	return ParseDockerfile(dt).FindImages(opt)
}

// FindImages is the package's FindImages of an already parsed Dockerfile.
func (d *Dockerfile) FindImages(opt ImageOptions) ([]ImageUse, error) {
	if d.Err != nil {
		return nil, d.Err
	}
	ast := d.AST
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("dockerfile contains no stages to build")
	}

	bp := platforms.DefaultSpec()
	if opt.BuildPlatform != nil {
		bp = *opt.BuildPlatform
	}
	tp := bp
	if opt.TargetPlatform != nil {
		tp = *opt.TargetPlatform
	}
	_, froms, err := resolveFroms(stages, metaArgs, shell.NewLex(ast.EscapeToken), bp, tp, opt.Target, opt.BuildArgs)
	if err != nil {
		return nil, err
	}
	has := opt.HasContext
	if has == nil {
		has = func(string, ocispecs.Platform) bool { return false }
	}

	// Each stage's platform (its FROM's --platform, else the target's) and
	// whether the user supplied it as a named context.
	plat := make([]ocispecs.Platform, len(stages))
	userCtx := make([]bool, len(stages))
	byName := map[string]int{}
	for i, st := range stages {
		plat[i] = tp
		if p := froms[i].platform; p != nil {
			plat[i] = *p
		}
		if st.Name != "" {
			userCtx[i] = has(st.Name, plat[i])
			byName[st.Name] = i
		}
	}

	targetIdx := len(stages) - 1
	if opt.Target != "" {
		i, ok := byName[strings.ToLower(opt.Target)]
		if !ok {
			return nil, fmt.Errorf("target stage %q could not be found", opt.Target)
		}
		targetIdx = i
	}

	var uses []ImageUse
	seen := map[string]bool{}
	add := func(name string, p ocispecs.Platform, kind string, loc []parser.Range) error {
		if strings.EqualFold(name, "scratch") || strings.EqualFold(name, "context") {
			return nil
		}
		ref, err := reference.ParseNormalizedNamed(name)
		if err != nil {
			return parser.WithLocation(fmt.Errorf("failed to parse image name %q: %w", name, err), loc)
		}
		ref = reference.TagNameOnly(ref)
		if has(ContextName(ref), p) {
			return nil
		}
		key := ref.String() + " " + PlatformKey(p)
		if seen[key] {
			return nil
		}
		seen[key] = true
		uses = append(uses, ImageUse{Name: ref, Platform: p, Kind: kind, Location: loc})
		return nil
	}

	// Walk stages reachable from the target, in Dockerfile order.
	reach := map[int]bool{}
	var visit func(i int)
	visit = func(i int) {
		if reach[i] {
			return
		}
		reach[i] = true
		if userCtx[i] {
			return
		}
		if j := froms[i].parent; j >= 0 {
			visit(j)
		}
		for _, from := range stageSources(stages[i]) {
			if j, ok := stageRef(from.name, byName, len(stages)); ok {
				visit(j)
			}
		}
	}
	visit(targetIdx)

	for i, st := range stages {
		if !reach[i] || userCtx[i] {
			continue
		}
		if froms[i].parent < 0 {
			if err := add(froms[i].base, plat[i], UseFrom, st.Location); err != nil {
				return nil, err
			}
		}
		for _, from := range stageSources(st) {
			if _, ok := stageRef(from.name, byName, len(stages)); ok {
				continue
			}
			// Images named by --from are resolved for the target platform,
			// not the stage's (dockerfile2llb's unregistered states).
			if err := add(from.name, tp, from.kind, from.loc); err != nil {
				return nil, err
			}
		}
	}
	return uses, nil
}

type source struct {
	name string
	kind string
	loc  []parser.Range
}

// stageSources lists COPY --from and RUN --mount=from values of a stage.
func stageSources(st instructions.Stage) []source {
	var out []source
	for _, cmd := range st.Commands {
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.From != "" {
				out = append(out, source{c.From, UseCopyFrom, c.Location()})
			}
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				if m.From != "" {
					out = append(out, source{m.From, UseMountFrom, c.Location()})
				}
			}
		}
	}
	return out
}

// stageRef resolves a --from value to a stage: a name (case-insensitive,
// any stage) or an index.
func stageRef(from string, byName map[string]int, n int) (int, bool) {
	if i, ok := byName[strings.ToLower(from)]; ok {
		return i, true
	}
	if i, err := strconv.Atoi(from); err == nil && i >= 0 && i < n {
		return i, true
	}
	return 0, false
}

type imageEnv map[string]string

func (e imageEnv) Get(key string) (string, bool) {
	v, ok := e[key]
	return v, ok
}

func (e imageEnv) Keys() []string {
	return slices.Sorted(maps.Keys(e))
}

// Mirrors maps a registry host to the hosts (optionally with a path prefix)
// that mirror it, tried in order before the registry itself.
type Mirrors map[string][]string

// ParseMirrors reads HOIST_MIRRORS:
//
//	docker.io=mirror.gcr.io,registry.internal:5000;ghcr.io=ghcr-mirror.internal
//
// Entries are separated by ";", a registry from its mirrors by "=", mirrors
// by ",". A mirror may carry a path prefix (registry.internal:5000/hub):
// docker.io/library/golang is then tried as
// registry.internal:5000/hub/library/golang. Docker Hub's aliases
// (index.docker.io, registry-1.docker.io) mean docker.io.
func ParseMirrors(s string) (Mirrors, error) {
	m := Mirrors{}
	for entry := range strings.SplitSeq(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		host, list, ok := strings.Cut(entry, "=")
		host = strings.TrimSpace(host)
		if !ok || host == "" {
			return nil, fmt.Errorf("mirror entry %q: want registry=mirror[,mirror...]", entry)
		}
		reg, err := registryHost(host)
		if err != nil {
			return nil, fmt.Errorf("mirror entry %q: registry %q: %w", entry, host, err)
		}
		if _, dup := m[reg]; dup {
			return nil, fmt.Errorf("mirror entry %q: registry %s is listed twice", entry, reg)
		}
		var mirrors []string
		for mir := range strings.SplitSeq(list, ",") {
			mir = strings.TrimSuffix(strings.TrimSpace(mir), "/")
			if mir == "" {
				continue
			}
			if err := validMirror(mir); err != nil {
				return nil, fmt.Errorf("mirror entry %q: mirror %q: %w", entry, mir, err)
			}
			if mir == reg || slices.Contains(mirrors, mir) {
				continue
			}
			mirrors = append(mirrors, mir)
		}
		if len(mirrors) == 0 {
			return nil, fmt.Errorf("mirror entry %q: no mirrors given for %s", entry, reg)
		}
		m[reg] = mirrors
	}
	return m, nil
}

// String renders the mirrors in HOIST_MIRRORS syntax, registries sorted.
func (m Mirrors) String() string {
	keys := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(m[k], ","))
	}
	return strings.Join(parts, ";")
}

// registryHost validates a registry host[:port] and maps Docker Hub's
// aliases to docker.io.
func registryHost(h string) (string, error) {
	switch h {
	case "index.docker.io", "registry-1.docker.io", "docker.io":
		return "docker.io", nil
	}
	if strings.ContainsAny(h, "/@") || strings.Contains(h, "://") {
		return "", fmt.Errorf("want a host[:port], without scheme or path")
	}
	r, err := reference.ParseNamed(h + "/x")
	if err != nil || reference.Domain(r) != h {
		return "", fmt.Errorf("not a valid registry host[:port]")
	}
	return h, nil
}

func validMirror(m string) error {
	if strings.Contains(m, "://") {
		return fmt.Errorf("want host[:port][/prefix], without scheme")
	}
	host, _, _ := strings.Cut(m, "/")
	if _, err := registryHost(host); err != nil {
		return err
	}
	if host == "docker.io" {
		return fmt.Errorf("docker.io cannot be a mirror")
	}
	if _, err := reference.ParseNamed(m + "/x"); err != nil {
		return fmt.Errorf("not a valid host[:port][/prefix]: %w", err)
	}
	return nil
}

// Candidate is one place an image may be fetched from.
type Candidate struct {
	Ref    reference.Named // the image at this candidate, same tag/digest
	Host   string          // mirror (with prefix) or registry, for reports
	Mirror bool
}

// Candidates lists where to fetch ref from, in order: the mirrors of its
// registry, then the registry itself.
func (m Mirrors) Candidates(ref reference.Named) ([]Candidate, error) {
	var out []Candidate
	domain, path := reference.Domain(ref), reference.Path(ref)
	for _, mir := range m[domain] {
		r, err := reference.ParseNamed(mir + "/" + path)
		if err != nil {
			return nil, fmt.Errorf("mirror %s for %s: %w", mir, ref, err)
		}
		if t, ok := ref.(reference.Tagged); ok {
			if r, err = reference.WithTag(r, t.Tag()); err != nil {
				return nil, err
			}
		}
		if d, ok := ref.(reference.Digested); ok {
			if r, err = reference.WithDigest(r, d.Digest()); err != nil {
				return nil, err
			}
		}
		out = append(out, Candidate{Ref: r, Host: mir, Mirror: true})
	}
	return append(out, Candidate{Ref: ref, Host: domain}), nil
}

// PlannedImage is an image and the candidates hoist tries for it.
type PlannedImage struct {
	ImageUse
	Candidates []Candidate
}

// PlanOptions is what a resolution plan depends on.
type PlanOptions struct {
	ImageOptions
	Mirrors Mirrors
	// TargetPlatforms are resolved each; empty means ImageOptions'.
	TargetPlatforms []ocispecs.Platform
}

// Plan computes, without network, which candidates hoist tries for each
// image the Dockerfile needs, per target platform. It is what the frontend
// resolves and what `hoist explain` shows.
func Plan(dt []byte, opt PlanOptions) ([]PlannedImage, error) {
	return ParseDockerfile(dt).Plan(opt)
}

// Plan is the package's Plan of an already parsed Dockerfile.
func (d *Dockerfile) Plan(opt PlanOptions) ([]PlannedImage, error) {
	tps := opt.TargetPlatforms
	if len(tps) == 0 {
		tps = []ocispecs.Platform{{}}
	}
	var out []PlannedImage
	seen := map[string]bool{}
	for _, tp := range tps {
		iopt := opt.ImageOptions
		if tp.OS != "" {
			iopt.TargetPlatform = &tp
		}
		uses, err := d.FindImages(iopt)
		if err != nil {
			return nil, err
		}
		for _, u := range uses {
			key := u.Name.String() + " " + PlatformKey(u.Platform)
			if seen[key] {
				continue
			}
			seen[key] = true
			cands, err := opt.Mirrors.Candidates(u.Name)
			if err != nil {
				return nil, err
			}
			out = append(out, PlannedImage{ImageUse: u, Candidates: cands})
		}
	}
	return out, nil
}

// FormatPlan renders a plan, one image a line:
//
//	line 1 FROM golang:1.26 (linux/amd64): mirror.gcr.io/library/golang:1.26, docker.io/library/golang:1.26
func FormatPlan(plan []PlannedImage) string {
	var b strings.Builder
	for _, p := range plan {
		line := 0
		if len(p.Location) > 0 {
			line = p.Location[0].Start.Line
		}
		names := make([]string, len(p.Candidates))
		for i, c := range p.Candidates {
			names[i] = c.Ref.String()
		}
		fmt.Fprintf(&b, "line %d %s %s (%s): %s\n", line, p.Kind, reference.FamiliarString(p.Name), PlatformKey(p.Platform), strings.Join(names, ", "))
	}
	return b.String()
}
