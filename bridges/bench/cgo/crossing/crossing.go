// Package main is built with -buildmode=c-shared into libhbbench_cgo.so: the
// crossings between C and Go that the reference's gohttp design makes per
// request, each looped n times on the Go side so that one C call into Go
// (the expensive direction, timed on its own by GoNoop) is spread over n.
package main

/*
int hbbench_c_noop(int x);
int hbbench_c_calls_go(int x);
int hbbench_c_writes_go(int x);
*/
import "C"

import (
	"sync"
	"unsafe"
)

// GoNoop is the smallest exported function: the cost of C calling into Go.
//
//export GoNoop
func GoNoop(x C.int) C.int { return x + 1 }

var sink []byte

// GoWrite is the reference's ResponseWriter_Write: the bytes are copied into
// Go memory (C.GoBytes) and appended to the response.
//
//export GoWrite
func GoWrite(data *C.char, n C.int) C.int {
	if len(sink) > 4096 {
		sink = sink[:0]
	}
	sink = append(sink, C.GoBytes(unsafe.Pointer(data), n)...)
	return n
}

// GoCallsC: Go calling C, as net/http's goroutine calls the C handler.
//
//export GoCallsC
func GoCallsC(n C.int) C.int {
	var sum C.int
	for i := C.int(0); i < n; i++ {
		sum += C.hbbench_c_noop(i)
	}
	return sum
}

// GoCallsCCallsGo: the C handler calling back into Go on the same thread.
//
//export GoCallsCCallsGo
func GoCallsCCallsGo(n C.int) C.int {
	var sum C.int
	for i := C.int(0); i < n; i++ {
		sum += C.hbbench_c_calls_go(i)
	}
	return sum
}

// GoCallsCWritesGo: the same with the handler's 14-byte write.
//
//export GoCallsCWritesGo
func GoCallsCWritesGo(n C.int) C.int {
	var sum C.int
	for i := C.int(0); i < n; i++ {
		sum += C.hbbench_c_writes_go(i)
	}
	return sum
}

// registry is the reference's handle registry (bridges/gohttp/registry.go):
// one mutex and one map, shared by every request.
var registry = struct {
	sync.Mutex
	count  uint64
	lookup map[uint64]*[]byte
}{lookup: make(map[uint64]*[]byte)}

// GoRegistryRoundTrip: one request's Ref, one Deref (a write), and Free.
//
//export GoRegistryRoundTrip
func GoRegistryRoundTrip(n C.int) C.int {
	var found C.int
	for i := C.int(0); i < n; i++ {
		registry.Lock()
		registry.count++
		handle := registry.count
		registry.lookup[handle] = &sink
		registry.Unlock()

		registry.Lock()
		if _, ok := registry.lookup[handle]; ok {
			found++
		}
		registry.Unlock()

		registry.Lock()
		delete(registry.lookup, handle)
		registry.Unlock()
	}
	return found
}

func main() {}
