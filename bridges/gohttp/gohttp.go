// Package main is built with -buildmode=c-shared into libgohttp.so: Go's
// net/http server with handlers written in C (or anything that can hand C a
// function pointer, such as CFFI). It rebuilds the design of the reference
// post "See Python, See Python Go, Go Python Go" from its description.
//
// Every exported function returns -1 (EOF) on failure, never panics back into
// C; a response handle is valid only while its handler runs.
package main

/*
#include <stdint.h>
#include <stdio.h> // EOF: the error value, as in the reference
#include <stdlib.h>

// A copy of the request made for the handler. The bridge owns every pointer
// and frees it when the handler returns: copy what you keep. Body is not
// NUL-terminated (it may contain NUL bytes); it is NULL when BodyLength is 0.
typedef struct Request_ {
    const char *Method;
    const char *Host;
    const char *URL;
    const char *Body;
    int64_t BodyLength;
} Request;

// Names a ResponseWriter in the bridge's registry; never a pointer.
typedef uint64_t ResponseWriterPtr;

// A handler, called on one of Go's threads, concurrently with others.
typedef void FuncPtr(ResponseWriterPtr w, Request *r);

void Call_HandleFunc(ResponseWriterPtr w, Request *r, FuncPtr *fn);
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"
	"unsafe"
)

// Limits like httpbridge's defaults (hb_options_init), so that the bridges
// face clients alike: a request must arrive within readTimeout, a keep-alive
// connection may idle for idleTimeout, and bodies over bodyLimit get 413. No
// WriteTimeout: Go's counts the whole answer, and a slow but steady reader
// of a large one must get all of it.
const (
	readTimeout = 10 * time.Second
	idleTimeout = 60 * time.Second
	headerLimit = 8192
	bodyLimit   = 8 << 20
)

// guard, deferred first in every exported function, turns a panic into the
// error return: a panic must never unwind through the C frames of the
// handler that called us.
func guard(rc *C.int) {
	if recover() != nil {
		*rc = C.EOF
	}
}

// The running server, so that Shutdown (from any thread) can stop it.
var lifecycle struct {
	sync.Mutex
	server   *http.Server
	closing  bool
	shutdown chan struct{} // closed when Shutdown has drained the server
}

// HandleFunc registers fn for pattern on Go's default ServeMux (exact path, or
// a subtree when pattern ends in "/"). Call it before ListenAndServe.
//
//export HandleFunc
func HandleFunc(cpattern *C.char, cfn *C.FuncPtr) {
	pattern := C.GoString(cpattern)
	defer func() { // ServeMux panics on an empty or repeated pattern: say so, never unwind into C
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "gohttp: HandleFunc(%q): %v\n", pattern, r)
		}
	}()
	http.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, bodyLimit))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			} else {
				http.Error(w, "cannot read request body", http.StatusBadRequest)
			}
			return
		}
		// Copies in C memory: Go memory handed to C may not hold Go pointers.
		creq := C.Request{
			Method:     C.CString(req.Method),
			Host:       C.CString(req.Host),
			URL:        C.CString(req.URL.String()),
			BodyLength: C.int64_t(len(body)),
		}
		if len(body) > 0 {
			creq.Body = (*C.char)(C.CBytes(body))
		}
		// Deferred, so that they happen even if the handler fails. The
		// reference leaked the strings on every request.
		defer func() {
			C.free(unsafe.Pointer(creq.Method))
			C.free(unsafe.Pointer(creq.Host))
			C.free(unsafe.Pointer(creq.URL))
			C.free(unsafe.Pointer(creq.Body))
		}()
		handle := registry.Ref(w)
		defer registry.Free(handle)
		C.Call_HandleFunc(C.ResponseWriterPtr(handle), &creq, cfn)
	})
}

// ListenAndServe serves on caddr ("host:port") until Shutdown. It returns 0
// after Shutdown has drained the server, -1 if it could not listen.
//
//export ListenAndServe
func ListenAndServe(caddr *C.char) (rc C.int) {
	defer guard(&rc)
	server := &http.Server{
		Addr:              C.GoString(caddr),
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    headerLimit,
	}
	done := make(chan struct{})
	lifecycle.Lock()
	if lifecycle.closing {
		lifecycle.Unlock()
		return 0
	}
	lifecycle.server, lifecycle.shutdown = server, done
	lifecycle.Unlock()

	err := server.ListenAndServe()
	if errors.Is(err, http.ErrServerClosed) {
		<-done
		return 0
	}
	fmt.Fprintf(os.Stderr, "gohttp: %v\n", err)
	return C.EOF
}

// Shutdown stops ListenAndServe, letting in-flight requests finish (at most
// 5 s). Safe from any thread, but not from a signal handler. Called before
// ListenAndServe, it makes ListenAndServe return at once; called again, it
// waits for the first call's drain and returns 0.
//
//export Shutdown
func Shutdown() (rc C.int) {
	defer guard(&rc)
	lifecycle.Lock()
	already := lifecycle.closing
	lifecycle.closing = true
	server, done := lifecycle.server, lifecycle.shutdown
	lifecycle.Unlock()
	if server == nil {
		return 0
	}
	if already {
		<-done // the first call closes it once drained
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := server.Shutdown(ctx)
	close(done)
	if err != nil {
		return C.EOF
	}
	return 0
}

// ResponseWriter_Write appends length bytes of cbuf to the response. It returns
// the count written, or -1 for an unknown handle or a failed write.
//
//export ResponseWriter_Write
func ResponseWriter_Write(handle C.ResponseWriterPtr, cbuf *C.char, length C.int) (rc C.int) {
	defer guard(&rc)
	w, ok := registry.Deref(uint64(handle))
	if !ok || length < 0 {
		return C.EOF
	}
	// Copied like the reference did, so the gohttp rows cost what its did.
	n, err := w.Write(C.GoBytes(unsafe.Pointer(cbuf), length))
	if err != nil {
		return C.EOF
	}
	return C.int(n)
}

// ResponseWriter_WriteHeader sends the status line and headers; call it at most
// once, before any Write. Returns 0, or -1 for an unknown handle or a status
// outside 100..999 (which net/http would panic on).
//
//export ResponseWriter_WriteHeader
func ResponseWriter_WriteHeader(handle C.ResponseWriterPtr, status C.int) (rc C.int) {
	defer guard(&rc)
	w, ok := registry.Deref(uint64(handle))
	if !ok || status < 100 || status > 999 {
		return C.EOF
	}
	w.WriteHeader(int(status))
	return 0
}

// ResponseWriter_SetHeader sets a response header (replacing any value) before
// the first Write or WriteHeader. Both strings are copied. Returns 0, or -1 for
// an unknown handle. Not in the reference, which could not set Content-Type.
//
//export ResponseWriter_SetHeader
func ResponseWriter_SetHeader(handle C.ResponseWriterPtr, cname, cvalue *C.char) (rc C.int) {
	defer guard(&rc)
	w, ok := registry.Deref(uint64(handle))
	if !ok {
		return C.EOF
	}
	w.Header().Set(C.GoString(cname), C.GoString(cvalue))
	return 0
}

// c-shared needs a main package; the embedding program provides the real main.
func main() {}
