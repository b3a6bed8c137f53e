package llbgen_test

// The rewrite tests of package llbgen run with hoist's ecosystems
// registered, as the frontend and the CLI do.
import _ "github.com/hoistbuild/hoist/llbgen/ecosystems"
