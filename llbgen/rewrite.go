// Package llbgen analyses Dockerfiles and rewrites them so that BuildKit's own
// dockerfile2llb produces faster, equivalent LLB: cache mounts on dependency
// and build caches, and dependency downloads split out before source copies.
//
// The rewrite is textual: the result is a Dockerfile a user could have
// written, plus a LineMap back to the user's lines and Notes saying what was
// changed and why.
package llbgen

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options is what a rewrite depends on besides the Dockerfile text.
type Options struct {
	Config         Config
	BuildArgs      map[string]string
	Target         string
	TargetPlatform *ocispecs.Platform
	BuildPlatform  *ocispecs.Platform
	// Images resolves base image configs; nil leaves image env unknown.
	Images Images
	// Context reads manifests from the build context; nil disables hoisting.
	Context Context
	// CacheFrom, when set, seeds the cache mounts hoist adds from a cache
	// image the caller checked resolves (HOIST_CACHE_FROM, cachefrom.go).
	CacheFrom *CacheImage
	// LayerCache is set when the build imports a layer cache
	// (--cache-from): its layers may then come without what a cache mount
	// held when they were made (a fresh CI runner), so a cache that later
	// steps read as content stays in the layers (safety.go).
	LayerCache bool
	// Tool is hoist's own image (the frontend's, pinned by digest when
	// known): the steps that export caches and stamp seeded ones run its
	// ToolBinary. Without it --target hoist-cache exports nothing and Go
	// build caches are seeded without a stamp.
	Tool string
}

// Note is one thing hoist did, or chose not to do, with the user's line.
type Note struct {
	Line    int    // the user's line
	Rule    string // the rule that decided it (rules.go), e.g. "hoist/cache-mount"
	Message string // e.g. "cache mounts /go/pkg/mod added to RUN go build"
	Changed bool   // false when hoist left the line alone on purpose
}

// Result is a rewritten Dockerfile.
type Result struct {
	Dockerfile []byte   // the text dockerfile2llb converts
	Lines      *LineMap // rewritten lines to the user's; nil when unchanged
	Notes      []Note
}

// Rewrite analyses dt and rewrites it according to opt. A Dockerfile that
// does not parse is returned unchanged, so dockerfile2llb reports the error
// exactly as the stock frontend does.
func Rewrite(ctx context.Context, dt []byte, opt Options) (*Result, error) {
	return ParseDockerfile(dt).Rewrite(ctx, opt)
}

// Rewrite is the package's Rewrite of an already parsed Dockerfile.
func (d *Dockerfile) Rewrite(ctx context.Context, opt Options) (res *Result, err error) {
	dt := d.Data
	// A bug in the analysis must not fail a build the stock frontend would
	// do: the Dockerfile is then converted as the user wrote it.
	defer func() {
		if r := recover(); r != nil {
			res, err = &Result{Dockerfile: dt, Notes: []Note{{Line: 1, Rule: RuleInternal.Name, Message: fmt.Sprintf("internal error, Dockerfile built unchanged: %v", r)}}}, nil
		}
	}()
	res = &Result{Dockerfile: dt}
	if !opt.Config.rewrites() {
		return res, nil
	}
	ast := d.AST
	if ast == nil {
		return res, nil
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return res, nil
	}
	if !mayRunTools(ast.AST) {
		return emptyCacheExport(res, stages, opt.Target), nil
	}
	a := &Analysis{
		Opt:    opt,
		dt:     dt,
		Lines:  strings.Split(string(dt), "\n"),
		Nodes:  map[int]*parser.Node{},
		lex:    newLex(ast.EscapeToken),
		escape: ast.EscapeToken,
		byName: map[string]*Stage{},
	}
	for _, n := range ast.AST.Children {
		a.Nodes[n.StartLine] = n
	}
	if err := a.walk(ctx, stages, metaArgs); err != nil {
		// What hoist cannot follow, it leaves to dockerfile2llb as it is.
		return emptyCacheExport(res, stages, opt.Target), nil
	}
	if err := a.rewrite(ctx); err != nil {
		return nil, err
	}
	res.Notes = NotesByLine(a.notes)
	res.Dockerfile, res.Lines = a.Edits.apply(dt)
	res.Dockerfile, res.Lines = appendLines(res.Dockerfile, res.Lines, a.appended)
	return res, nil
}

// MayRewrite reports whether Rewrite could change dt under cfg: false when
// hoist is off or no RUN names a tool it has rules for. The frontend uses it
// to start the lookups a rewrite needs early, and only when it needs them.
func MayRewrite(dt []byte, cfg Config) bool {
	return ParseDockerfile(dt).MayRewrite(cfg)
}

// MayRewrite is the package's MayRewrite of an already parsed Dockerfile.
func (d *Dockerfile) MayRewrite(cfg Config) bool {
	return cfg.rewrites() && d.AST != nil && mayRunTools(d.AST.AST)
}

// Dockerfile is a Dockerfile parsed once, for every analysis of one build:
// the rewrite per platform, the image lookups and the mirror plan. The
// parse result is only read; each analysis makes its own instructions.
type Dockerfile struct {
	Data []byte
	AST  *parser.Result // nil when Data does not parse
	Err  error          // the parse error
}

// ParseDockerfile parses dt with BuildKit's parser.
func ParseDockerfile(dt []byte) *Dockerfile {
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		ast = nil
	}
	return &Dockerfile{Data: dt, AST: ast, Err: err}
}

// FormatNote renders a note as hoist reports it in build output.
func FormatNote(n Note) string {
	if n.Rule == "" {
		return fmt.Sprintf("hoist: line %d: %s", n.Line, n.Message)
	}
	return fmt.Sprintf("hoist: line %d: %s [%s]", n.Line, n.Message, n.Rule)
}

// tools are the commands of every ecosystem, and the build runners that
// may run them (an opaque step in a Go stage gets the Go caches); Register
// sets them.
var tools map[string]bool

func toolNames() map[string]bool {
	m := map[string]bool{"make": true, "gmake": true, "task": true, "mage": true, "just": true}
	for _, e := range ecosystems {
		for _, t := range e.Tools() {
			m[t] = true
		}
	}
	return m
}

// mayRunTools is a cheap filter: a Dockerfile none of whose RUN words names
// a tool hoist knows needs no image lookups and no analysis.
func mayRunTools(ast *parser.Node) bool {
	for _, n := range ast.Children {
		if !strings.EqualFold(n.Value, "run") {
			continue
		}
		text := n.Original
		for _, h := range n.Heredocs {
			text += "\n" + h.Content
		}
		if strings.Contains(text, ".sh") || strings.Contains(text, "./") {
			return true // a script may run them
		}
		for _, w := range strings.FieldsFunc(text, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) {
			if tools[w] {
				return true
			}
		}
	}
	return false
}
