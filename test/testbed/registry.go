package testbed

import (
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is an in-process OCI registry on a free loopback port, so that
// concurrent test beds (tests, demo) never share one.
type Registry struct {
	// Addr is host:port, e.g. 127.0.0.1:41234.
	Addr string
	srv  *http.Server
	done chan error
}

// StartRegistry serves an in-memory registry on 127.0.0.1.
func StartRegistry() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Registry{
		Addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
			ReadHeaderTimeout: 30 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() {
		err := r.srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		r.done <- err
	}()
	return r, nil
}

// Close stops the registry; its content is gone.
func (r *Registry) Close() error {
	if err := r.srv.Close(); err != nil {
		return err
	}
	return <-r.done
}
