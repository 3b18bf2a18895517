// _httpbridge: the private compiled half of the httpbridge package.
//
// pybind11 binds the cold paths (the Server's lifecycle); the objects a handler
// touches on every request are plain CPython types (objects.cpp), and the
// request path itself is raw CPython API (dispatch.cpp).
#include "server.hpp"

#include <pybind11/stl.h>

#include <signal.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

namespace py = pybind11;
using hbpy::Server;

PYBIND11_MODULE(_httpbridge, m)
{
    m.doc() = "Private: the compiled core of httpbridge. Use the httpbridge package.";

    if (!hbpy::add_types(m.ptr()) || !hbpy::add_wsgi_types(m.ptr()))
        throw py::error_already_set();

    py::class_<Server>(m, "Server", "One HTTP server over httpbridge.h (low level).")
        .def(py::init<long long, bool, const std::map<std::string, long long> &>(), py::arg("threads") = 1,
             py::arg("reuse_port") = false, py::arg("limits") = std::map<std::string, long long>{})
        .def("handle", &Server::handle, py::arg("pattern"), py::arg("handler"),
             py::arg("methods") = py::none(),
             "Route pattern (exact, or a subtree when it ends in '/') to handler(w, req).")
        .def("handle_wsgi", &Server::handle_wsgi, py::arg("app"), py::arg("base_environ"),
             "Serve every path with a WSGI app; base_environ: the keys every environ shares.")
        .def("listen", &Server::listen, py::arg("host"), py::arg("port"),
             "Bind host:port (numeric host; port 0 picks one). OSError names the address.")
        .def_property_readonly("port", &Server::port, "The bound port.")
        .def("start", &Server::start, "Start the io threads and return.")
        .def("wait", &Server::wait, py::arg("timeout") = py::none(),
             "Wait until the server has stopped (True) or timeout seconds passed (False).")
        .def("serve", &Server::serve, "Start, and wait until the server stops.")
        .def("stop", &Server::stop, "Ask the server to stop; in-flight requests finish.")
        .def("close", &Server::close, "Stop, drain and release the server.");

    m.def("library_version", &hb_version_string, "The httpbridge C library's version.");

    m.def(
        "set_parent_death_signal",
        [](int sig) {
#if defined(__linux__)
            if (prctl(PR_SET_PDEATHSIG, sig) != 0) {
                PyErr_SetFromErrno(PyExc_OSError);
                throw py::error_already_set();
            }
#else
            (void)sig;
#endif
        },
        py::arg("signal"), "Linux: have the kernel send signal to this process when its parent dies.");

    // Servers still open at exit are closed before the interpreter finalizes:
    // an io thread must never try to take the GIL of a finalizing interpreter.
    py::module_::import("atexit").attr("register")(py::cpp_function(&Server::close_all));
}
