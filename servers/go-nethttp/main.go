// go-nethttp serves the benchmark's three endpoints with Go's net/http and
// nothing else: the reference post's first row, and the bar the bridges
// that put Go's server in front of C or Python are measured against.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

var hello = []byte("Hello, world.\n")

// route answers exactly what every variant answers; ServeMux is not used
// because its "/" pattern would also match every unknown path.
func route(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		send(w, "text/plain", hello)
	case r.URL.Path == "/echo" && r.Method == http.MethodPost:
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		send(w, "application/octet-stream", body)
	default:
		http.NotFound(w, r)
	}
}

// send sets Content-Length itself so that large bodies are not chunked.
func send(w http.ResponseWriter, contentType string, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}

func main() {
	host := flag.String("host", "127.0.0.1", "address to listen on")
	port := flag.Int("port", 8000, "port to listen on")
	threads := flag.Int("threads", 1, "GOMAXPROCS (0: Go's default, one per CPU)")
	flag.Parse()
	if *threads > 0 {
		runtime.GOMAXPROCS(*threads)
	}

	addr := net.JoinHostPort(*host, strconv.Itoa(*port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("go-nethttp: %v", err)
	}
	// Configured as a production Go server is, with httpbridge's default limits.
	srv := &http.Server{
		Handler:           http.HandlerFunc(route),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8192,
	}

	// SIGTERM drains in-flight requests and exits 0, as the harness expects.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdownCtx)
	}()

	// The start line every variant prints (servers/README.md), with the port really bound.
	fmt.Fprintf(os.Stderr, "listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("go-nethttp: %v", err)
	}
	<-drained
}
