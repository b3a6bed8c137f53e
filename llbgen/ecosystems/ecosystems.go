// Package ecosystems registers the ecosystems hoist rewrites for with
// package llbgen, in the order they rewrite. A program that rewrites
// Dockerfiles (the frontend, the CLI) imports it for that effect.
package ecosystems

import (
	"github.com/hoistbuild/hoist/llbgen"
	"github.com/hoistbuild/hoist/llbgen/golang"
	"github.com/hoistbuild/hoist/llbgen/node"
)

func init() {
	llbgen.Register(golang.Ecosystem{}, node.Ecosystem{})
}
