// Command go-make serves an in-memory notes API. It is built through make,
// which stamps the version from the VERSION file into the binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"example.com/go-make/internal/notes"
)

// version is set by the Makefile: -ldflags "-X main.version=...".
var version = "dev"

// config is read from the YAML file named by -config, if any.
type config struct {
	Addr string `yaml:"addr"`
}

func main() {
	cfgPath := flag.String("config", "", "YAML config file (addr)")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("go-make", version)
		return
	}
	cfg := config{Addr: ":8080"}
	if *cfgPath != "" {
		data, err := os.ReadFile(*cfgPath)
		if err != nil {
			log.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			log.Fatalf("%s: %v", *cfgPath, err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: cfg.Addr, Handler: notes.Router(notes.NewStore(), version), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("go-make %s listening on %s", version, cfg.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}
