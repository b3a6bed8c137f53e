package llbgen

import (
	"context"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/pkg/errors"
)

// Dockerfile2LLB converts a rewritten Dockerfile with BuildKit's own
// dockerfile2llb. opt.SourceMap must hold the user's text: warnings and
// errors are mapped back to it through rw.Lines.
func Dockerfile2LLB(ctx context.Context, rw *Result, opt dockerfile2llb.ConvertOpt) (*dockerfile2llb.Result, error) {
	if warn := opt.Warn; warn != nil && !rw.Lines.Identity() {
		opt.Warn = func(rule, description, url, msg string, location []parser.Range) {
			warn(rule, description, url, msg, rw.Lines.Ranges(location))
		}
	}
	res, err := dockerfile2llb.Dockerfile2LLB(ctx, rw.Dockerfile, opt)
	return res, rw.Lines.Error(err)
}

// Marshal marshals a converted state and maps its source locations to the
// user's lines. Op digests do not depend on locations, so they are the ones
// dockerfile2llb produced.
func Marshal(ctx context.Context, rw *Result, st llb.State, co ...llb.ConstraintsOpt) (*llb.Definition, error) {
	def, err := st.Marshal(ctx, co...)
	if err != nil {
		return nil, errors.Wrap(err, "failed to marshal LLB definition")
	}
	rw.Lines.Source(def.Source)
	return def, nil
}
