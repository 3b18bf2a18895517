// Package main is built with -buildmode=c-shared into libgohttp.so: Go's
// net/http server with handlers written in C (or anything that can hand C a
// function pointer, such as CFFI). It rebuilds the design of the reference
// post "See Python, See Python Go, Go Python Go" from its description.
//
// Every exported function returns -1 (EOF) on failure; a response handle is
// valid only while its handler runs.
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
	http.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, "cannot read request body", http.StatusBadRequest)
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
		handle := registry.Ref(w)
		C.Call_HandleFunc(C.ResponseWriterPtr(handle), &creq, cfn)
		registry.Free(handle)
		// The reference leaked these on every request.
		C.free(unsafe.Pointer(creq.Method))
		C.free(unsafe.Pointer(creq.Host))
		C.free(unsafe.Pointer(creq.URL))
		C.free(unsafe.Pointer(creq.Body))
	})
}

// ListenAndServe serves on caddr ("host:port") until Shutdown. It returns 0
// after Shutdown has drained the server, -1 if it could not listen.
//
//export ListenAndServe
func ListenAndServe(caddr *C.char) C.int {
	server := &http.Server{Addr: C.GoString(caddr)}
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
// ListenAndServe, it makes ListenAndServe return at once.
//
//export Shutdown
func Shutdown() C.int {
	lifecycle.Lock()
	lifecycle.closing = true
	server, done := lifecycle.server, lifecycle.shutdown
	lifecycle.Unlock()
	if server == nil {
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
func ResponseWriter_Write(handle C.ResponseWriterPtr, cbuf *C.char, length C.int) C.int {
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
// once, before any Write. Returns 0, or -1 for an unknown handle.
//
//export ResponseWriter_WriteHeader
func ResponseWriter_WriteHeader(handle C.ResponseWriterPtr, status C.int) C.int {
	w, ok := registry.Deref(uint64(handle))
	if !ok {
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
func ResponseWriter_SetHeader(handle C.ResponseWriterPtr, cname, cvalue *C.char) C.int {
	w, ok := registry.Deref(uint64(handle))
	if !ok {
		return C.EOF
	}
	w.Header().Set(C.GoString(cname), C.GoString(cvalue))
	return 0
}

// c-shared needs a main package; the embedding program provides the real main.
func main() {}
