package frontend

import (
	"context"
	"testing"

	"github.com/moby/buildkit/client/llb"
)

func marshalDef(t *testing.T, st llb.State) []byte {
	t.Helper()
	def, err := st.Marshal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dt, err := def.ToPB().MarshalVT()
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// TestImageOfDefinition reads the frontend's own image from the definition
// the gateway mounts: the image pinned by digest, as the gateway solves it.
func TestImageOfDefinition(t *testing.T) {
	const pinned = "127.0.0.1:5000/hoist:dev@sha256:0123456789012345678901234567890123456789012345678901234567890123"
	if got := imageOfDefinition(marshalDef(t, llb.Image(pinned))); got != pinned {
		t.Errorf("got %q, want %q", got, pinned)
	}
	// Not a single image: the source option is used instead.
	two := llb.Image("a:1").File(llb.Copy(llb.Image("b:1"), "/x", "/x"))
	if got := imageOfDefinition(marshalDef(t, two)); got != "" {
		t.Errorf("two images gave %q", got)
	}
	if got := imageOfDefinition(marshalDef(t, llb.Local("context"))); got != "" {
		t.Errorf("a local source gave %q", got)
	}
	if got := imageOfDefinition([]byte("not a definition")); got != "" {
		t.Errorf("garbage gave %q", got)
	}
	if got := toolImage(map[string]string{"source": "registry.example.com/hoist:1"}); got != "registry.example.com/hoist:1" {
		t.Errorf("without a definition: %q", got)
	}
}
