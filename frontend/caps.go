package frontend

import (
	"strings"

	"github.com/moby/buildkit/solver/errdefs"
	"github.com/moby/buildkit/util/grpcerrors"
	"github.com/moby/buildkit/util/stack"
	"google.golang.org/grpc/codes"
)

// Caps are the frontend capabilities hoist implements, as the stock
// Dockerfile frontend declares them. The image label
// moby.buildkit.frontend.caps lists the same set.
var Caps = []string{
	"moby.buildkit.frontend.inputs",
	"moby.buildkit.frontend.subrequests",
	"moby.buildkit.frontend.contexts",
	"moby.buildkit.frontend.gitquerystring",
	"moby.buildkit.frontend.contexts.zstd",
}

// validateCaps checks the caps a client requires (frontend.caps), like the
// stock frontend: a "+forward" cap may be satisfied by a syntax forward.
func validateCaps(req string) (forward bool, err error) {
	if req == "" {
		return false, nil
	}
	for c := range strings.SplitSeq(req, ",") {
		name, _, _ := strings.Cut(c, "+")
		known := false
		for _, k := range Caps {
			known = known || k == name
		}
		if known {
			continue
		}
		err = stack.Enable(grpcerrors.WrapCode(errdefs.NewUnsupportedFrontendCapError(name), codes.Unimplemented))
		if !strings.Contains(c, "+forward") {
			return false, err
		}
		forward = true
	}
	return forward, err
}
