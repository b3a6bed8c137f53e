// Package api is the workspace's library module: it builds the HTTP routes
// that cmd/server serves.
package api

import (
	"encoding/json"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Greeting is the JSON body returned by GET /hello/{name}.
type Greeting struct {
	Message string `json:"message"`
}

// NewRouter returns the service's routes.
func NewRouter() http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	r.Get("/hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Greeting{Message: "hello, " + chi.URLParam(r, "name")})
	})
	return r
}
