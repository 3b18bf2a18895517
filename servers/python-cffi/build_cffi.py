"""Compile _hb_cffi: CFFI's out-of-line API mode over httpbridge.h.

The declarations are taken from httpbridge.h itself (the part inside its
extern "C" block, without the export macro), so the binding cannot drift from
the header. Handlers are an ``extern "Python"`` callback, the way the reference
post's gohttp bridged Go to Python, but compiled instead of ABI-mode.

    python3 build_cffi.py --header .../httpbridge.h --lib-dir DIR --out-dir DIR
"""

import argparse
import pathlib
import re

from cffi import FFI

# The one C callback every route uses; user_data names the Python handler.
CALLBACKS = """
extern "Python" int hb_py_handler(hb_response res, const hb_request *req, void *user_data);
"""


def declarations(header: str) -> str:
    """The C declarations of httpbridge.h in a form cffi's cdef() accepts."""
    body = header.split('extern "C" {', 1)[1].rsplit("#ifdef __cplusplus", 1)[0]
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
    return re.sub(r"\bHB_API\s+", "", "\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--header", required=True, type=pathlib.Path)
    parser.add_argument("--lib-dir", required=True, help="where libhttpbridge.so is (also the rpath)")
    parser.add_argument("--out-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()

    ffi = FFI()
    ffi.cdef(declarations(args.header.read_text()) + CALLBACKS)
    ffi.set_source(
        "_hb_cffi",
        '#include "httpbridge.h"',
        include_dirs=[str(args.header.parent)],
        library_dirs=[args.lib_dir],
        libraries=["httpbridge"],
        extra_link_args=[f"-Wl,-rpath,{args.lib_dir}"],
        extra_compile_args=["-O2"],
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    ffi.compile(tmpdir=str(args.out_dir), verbose=False)


if __name__ == "__main__":
    main()
