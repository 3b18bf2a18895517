package main

import (
	"net/http"
	"sync"
)

// handleRegistry is the reference's pointer registry: C never holds a Go
// pointer, only an integer that names a ResponseWriter living in Go. Two of
// its defects are fixed here: the handle is a uint64 like the counter (no
// truncation to a 32-bit C int), and 0 is never issued, so a zeroed handle
// is always unknown.
type handleRegistry struct {
	sync.Mutex
	count  uint64
	lookup map[uint64]http.ResponseWriter
}

var registry = &handleRegistry{lookup: make(map[uint64]http.ResponseWriter)}

// Ref registers w and returns the handle that names it until Free.
func (r *handleRegistry) Ref(w http.ResponseWriter) uint64 {
	r.Lock()
	defer r.Unlock()
	r.count++
	r.lookup[r.count] = w
	return r.count
}

// Deref returns the ResponseWriter a handle names; ok is false for a handle
// that was never issued or was already freed.
func (r *handleRegistry) Deref(handle uint64) (w http.ResponseWriter, ok bool) {
	r.Lock()
	defer r.Unlock()
	w, ok = r.lookup[handle]
	return w, ok
}

// Free forgets a handle; later calls with it fail instead of reaching a
// response that is already finished.
func (r *handleRegistry) Free(handle uint64) {
	r.Lock()
	defer r.Unlock()
	delete(r.lookup, handle)
}
