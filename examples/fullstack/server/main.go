// Command server serves the web frontend (embedded from ./static, which the
// Dockerfile fills with the frontend build) and a small JSON API.
package main

import (
	"embed"
	"encoding/json"
	"flag"
	"io/fs"
	"log"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

//go:embed static
var static embed.FS

func newRouter(now func() time.Time) (http.Handler, error) {
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(middleware.Recoverer)
	r.Get("/api/hello", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{
			"message": "hello from the Go backend",
			"served":  now().UTC().Format(time.RFC3339),
		})
	})
	r.Handle("/*", http.FileServer(http.FS(files)))
	return r, nil
}

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()
	h, err := newRouter(time.Now)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("listening on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}
