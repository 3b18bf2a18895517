// Request and ResponseWriter: the two objects a Python handler receives.
//
// They are plain CPython types (not pybind11 classes): the handler touches them
// on every request, and a METH_FASTCALL method or a getset slot costs a few
// tens of nanoseconds where a pybind11 dispatcher costs a few hundred.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "httpbridge.h"

#include <pthread.h>

namespace hbpy
{

struct ThreadContext;

// A view of one hb_request, bound while its handler runs. Fields become Python
// objects on first access and are cached until the handler returns.
struct RequestObject {
    PyObject_HEAD const hb_request *view; // borrowed from the server; nullptr when unbound
    pthread_t thread;                     // the io thread whose handler it is bound to
    bool materialized;                    // some cache slot below is set
    PyObject *method;
    PyObject *path;
    PyObject *query;
    PyObject *url;
    PyObject *host;
    PyObject *remote_addr;
    PyObject *headers;
    PyObject *body;
};

// Names one in-flight response through its hb_response handle, bound while its
// handler runs. Headers go to the context's buffer and out when the handler returns.
struct WriterObject {
    PyObject_HEAD hb_response handle; // 0 when unbound
    ThreadContext *ctx;               // the io thread's context; nullptr when unbound
};

// Create the types and add them to module. false with a Python error set.
bool add_types(PyObject *module);

RequestObject *new_request();
WriterObject *new_writer();

void bind_request(RequestObject *r, const hb_request *view);
void unbind_request(RequestObject *r);

} // namespace hbpy
