// Package metrics exposes Prometheus metrics over HTTP.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves /metrics from a private registry (Go runtime metrics plus
// a request counter) so tests and the process don't share global state.
func Handler() http.Handler {
	reg := prometheus.NewRegistry()
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "go_app_http_requests_total",
		Help: "HTTP requests served, by path.",
	}, []string{"path"})
	reg.MustRegister(collectors.NewGoCollector(), requests)

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	return countRequests(requests, mux)
}

func countRequests(c *prometheus.CounterVec, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.WithLabelValues(r.URL.Path).Inc()
		next.ServeHTTP(w, r)
	})
}
