"""Build _hbbench_cffi: the slice of httpbridge.h a CFFI handler needs, with two
`extern "Python"` callbacks, in CFFI's compiled out-of-line API mode.

usage: build_cffi.py OUT_DIR INCLUDE_DIR LIB_DIR
"""
import sys

import cffi

CDEF = """
typedef uint64_t hb_response;
typedef struct hb_request hb_request;  /* the handlers below do not read it */
int hb_response_add_header(hb_response res, const char *name, size_t name_len,
                           const char *value, size_t value_len);
int hb_response_write(hb_response res, const void *data, size_t len);

extern "Python" int py_empty(hb_response res, const hb_request *req, void *user_data);
extern "Python" int py_hello(hb_response res, const hb_request *req, void *user_data);
"""


def main(out_dir, include_dir, lib_dir):
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source(
        "_hbbench_cffi",
        '#include "httpbridge.h"',
        include_dirs=[include_dir],
        libraries=["hbbench_abi"],
        library_dirs=[lib_dir],
        runtime_library_dirs=[lib_dir],
    )
    ffi.compile(tmpdir=out_dir, verbose=False)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
