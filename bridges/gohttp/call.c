// Go cannot call a C function pointer; this one-line trampoline does it for
// the handlers registered with HandleFunc.
#include "_cgo_export.h"

void Call_HandleFunc(ResponseWriterPtr w, Request *r, FuncPtr *fn)
{
    fn(w, r);
}
