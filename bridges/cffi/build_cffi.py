"""Compile a CFFI module over httpbridge.h, in CFFI's out-of-line API mode.

The declarations are taken from httpbridge.h itself (the part inside its
extern "C" block, without the export macro and preprocessor lines, plus the
version macros of the generated httpbridge_version.h as constants), so a
binding cannot drift from the header. Handlers are ``extern "Python"``
callbacks, the way the reference post's gohttp bridged Go to Python, but
compiled instead of ABI-mode. Used by bridges/cffi (the module _hb_cffi behind
hbcffi.py) and bridges/bench/cffi (_hbbench_cffi).

    python3 build_cffi.py --module NAME --include-dir DIR... --lib-dir DIR
        [--library httpbridge] [--callback 'int f(hb_response, const hb_request *, void *)']...
        --out-dir DIR
"""

from __future__ import annotations

import argparse
import pathlib
import re

from cffi import FFI

HEADER = "httpbridge.h"


def declarations(header: str) -> str:
    """The C declarations of httpbridge.h in a form cffi's cdef() accepts."""
    body = header.split('extern "C" {', 1)[1].rsplit("#ifdef __cplusplus", 1)[0]
    lines = [line for line in body.splitlines() if not line.lstrip().startswith("#")]
    return re.sub(r"\bHB_API\s+", "", "\n".join(lines))


def version_constants(version_header: str) -> str:
    """HB_VERSION_MAJOR/MINOR/PATCH as cdef constants (``#define NAME ...`` lets lib read them)."""
    names = re.findall(r"^#define (HB_VERSION_(?:MAJOR|MINOR|PATCH)) \d+$", version_header, re.M)
    return "".join(f"#define {name} ...\n" for name in names)


def find(include_dirs: list[pathlib.Path], name: str) -> pathlib.Path:
    for directory in include_dirs:
        if (directory / name).is_file():
            return directory / name
    raise SystemExit(f"build_cffi.py: {name} is in none of the --include-dir directories")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--module", required=True, help="the module's name, e.g. _hb_cffi")
    parser.add_argument("--include-dir", required=True, action="append", type=pathlib.Path,
                        help="where httpbridge.h and httpbridge_version.h are (repeat for each)")
    parser.add_argument("--lib-dir", required=True, help="where the library is (also the rpath)")
    parser.add_argument("--library", default="httpbridge", help="the library to link: its name without lib/.so")
    parser.add_argument("--callback", action="append", default=[],
                        help='a C prototype to declare as extern "Python" (repeat for each)')
    parser.add_argument("--out-dir", required=True, type=pathlib.Path)
    args = parser.parse_args()

    header = find(args.include_dir, HEADER).read_text()
    version = find(args.include_dir, "httpbridge_version.h").read_text()
    callbacks = "".join(f'extern "Python" {prototype.rstrip(";")};\n' for prototype in args.callback)
    ffi = FFI()
    ffi.cdef(declarations(header) + version_constants(version) + callbacks)
    ffi.set_source(
        args.module,
        f'#include "{HEADER}"',
        include_dirs=[str(d) for d in args.include_dir],
        library_dirs=[args.lib_dir],
        libraries=[args.library],
        extra_link_args=[f"-Wl,-rpath,{args.lib_dir}"],
        extra_compile_args=["-O2"],
    )
    args.out_dir.mkdir(parents=True, exist_ok=True)
    ffi.compile(tmpdir=str(args.out_dir), verbose=False)


if __name__ == "__main__":
    main()
