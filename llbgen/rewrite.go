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
}

// Note is one thing hoist did, or chose not to do, with the user's line.
type Note struct {
	Line    int    // the user's line
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
	res := &Result{Dockerfile: dt}
	if !opt.Config.Enabled {
		return res, nil
	}
	ast, err := parser.Parse(bytes.NewReader(dt))
	if err != nil {
		return res, nil
	}
	if _, _, err := instructions.Parse(ast.AST, nil); err != nil {
		return res, nil
	}
	var e edits
	res.Dockerfile, res.Lines = e.apply(dt)
	return res, nil
}

// FormatNote renders a note as hoist reports it in build output.
func FormatNote(n Note) string {
	return fmt.Sprintf("hoist: line %d: %s", n.Line, n.Message)
}
