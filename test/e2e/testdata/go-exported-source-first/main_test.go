package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// go-cmp is a test-only dependency: go build never fetches it, go mod
// download does.
func TestID(t *testing.T) {
	if d := cmp.Diff(id(), id()); d != "" {
		t.Error(d)
	}
}
