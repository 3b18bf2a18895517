"""The Python side of bench_cffi: the c-callback variant's handler written in
Python against the C ABI, as the CFFI variant does."""
from _hbbench_cffi import ffi, lib

BODY = b"Hello, world.\n"


@ffi.def_extern()
def py_empty(res, req, user_data):
    return 0


@ffi.def_extern()
def py_hello(res, req, user_data):
    lib.hb_response_add_header(res, b"Content-Type", 12, b"text/plain", 10)
    return lib.hb_response_write(res, BODY, len(BODY))


def address(name):
    """The C function pointer of a callback, as an int for the C++ side."""
    return int(ffi.cast("uintptr_t", getattr(lib, name)))
