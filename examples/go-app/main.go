// Command go-app is a small service exposing a gRPC health endpoint and
// Prometheus metrics; it is the baseline example for hoist.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"example.com/go-app/internal/health"
	"example.com/go-app/internal/metrics"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	var grpcAddr, httpAddr string
	root := &cobra.Command{
		Use:   "go-app",
		Short: "Example service with gRPC health checks and Prometheus metrics",
	}
	serve := &cobra.Command{
		Use:   "serve",
		Short: "Serve gRPC health on --grpc-addr and /metrics on --http-addr",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return serveAll(ctx, grpcAddr, httpAddr)
		},
	}
	serve.Flags().StringVar(&grpcAddr, "grpc-addr", ":9090", "gRPC listen address")
	serve.Flags().StringVar(&httpAddr, "http-addr", ":8080", "HTTP (metrics) listen address")
	root.AddCommand(serve, &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "go-app 0.1.0") },
	})
	return root
}

func serveAll(ctx context.Context, grpcAddr, httpAddr string) error {
	lis, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", grpcAddr, err)
	}
	gs := health.NewServer()
	hs := &http.Server{Addr: httpAddr, Handler: metrics.Handler(), ReadHeaderTimeout: 5 * time.Second}

	errc := make(chan error, 2)
	go func() { errc <- gs.Serve(lis) }()
	go func() {
		if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
			return
		}
		errc <- nil
	}()

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	gs.GracefulStop()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := hs.Shutdown(shutdownCtx); err == nil {
		err = serr
	}
	return err
}
