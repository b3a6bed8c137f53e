// Command hoist-frontend is the hoist BuildKit gateway frontend.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hoistbuild/hoist/frontend"
	"github.com/hoistbuild/hoist/internal/cachetool"
	"github.com/hoistbuild/hoist/internal/version"
	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
	"github.com/moby/buildkit/util/bklog"
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto"
	"github.com/moby/buildkit/util/stack"
)

func init() {
	stack.SetVersionInfo(version.Version, version.Revision)
}

func main() {
	// The steps hoist adds for CI caches run this binary (cachetool).
	if code, ok := cachetool.Main(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}

	var showVersion bool
	flag.BoolVar(&showVersion, "version", false, "show version")
	flag.Parse()

	if showVersion {
		fmt.Printf("%s %s %s %s\n", os.Args[0], version.Package, version.Version, version.Revision)
		os.Exit(0)
	}

	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		bklog.L.Errorf("fatal error: %+v", err)
		os.Exit(1)
	}
}
