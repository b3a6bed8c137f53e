// Command server serves the routes from the workspace's api module.
package main

import (
	"flag"
	"log"
	"net/http"
	"time"

	"example.com/go-workspace/api"
)

func main() {
	addr := flag.String("addr", ":8080", "listen address")
	flag.Parse()
	srv := &http.Server{Addr: *addr, Handler: api.NewRouter(), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("listening on %s", *addr)
	log.Fatal(srv.ListenAndServe())
}
