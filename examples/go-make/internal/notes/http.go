package notes

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// Router serves the store under /notes and the build's version at /version.
func Router(s *Store, version string) http.Handler {
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recoverer)
	r.Get("/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": version})
	})
	r.Route("/notes", func(r chi.Router) {
		r.Get("/", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, s.List())
		})
		r.Post("/", func(w http.ResponseWriter, req *http.Request) {
			var in struct{ Title, Body string }
			if err := json.NewDecoder(req.Body).Decode(&in); err != nil || in.Title == "" {
				http.Error(w, "want a JSON object with a title", http.StatusBadRequest)
				return
			}
			writeJSON(w, http.StatusCreated, s.Add(in.Title, in.Body))
		})
		r.Get("/{id}", func(w http.ResponseWriter, req *http.Request) {
			n, err := s.Get(chi.URLParam(req, "id"))
			if err != nil {
				writeErr(w, err)
				return
			}
			writeJSON(w, http.StatusOK, n)
		})
		r.Delete("/{id}", func(w http.ResponseWriter, req *http.Request) {
			if err := s.Delete(chi.URLParam(req, "id")); err != nil {
				writeErr(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})
	})
	return r
}

func writeErr(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNotFound) {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
