"""Header mappings: the request's (read-only) and the response's (mutable).

Both are case-insensitive and keep repeated headers. ``headers[name]`` gives the
*first* value of that name (as Go's ``Header.Get`` and werkzeug do) and
``headers.get_all(name)`` all of them, in arrival order. Iteration yields each
distinct name once, spelled as it first appeared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    from ._httpbridge import ResponseWriter

__all__ = ["Headers", "ResponseHeaders"]


class Headers(Mapping[str, str]):
    """The request headers: a read-only, case-insensitive mapping keeping repeats.

    >>> h = Headers([("Accept", "text/html"), ("X-Tag", "a"), ("x-tag", "b")])
    >>> h["ACCEPT"], h["x-tag"], h.get_all("X-Tag"), list(h)
    ('text/html', 'a', ['a', 'b'], ['Accept', 'X-Tag'])

    Values are ``str`` decoded as latin-1 (each byte one character), as the
    bytes came; nothing is joined or split.
    """

    __slots__ = ("_items", "_index")

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items: list[tuple[str, str]] = list(items)
        self._index: dict[str, tuple[str, list[str]]] | None = None

    def _lookup(self) -> dict[str, tuple[str, list[str]]]:
        # Built on first lookup: lower-case name -> (name as first sent, values).
        if self._index is None:
            index: dict[str, tuple[str, list[str]]] = {}
            for name, value in self._items:
                entry = index.get(name.lower())
                if entry is None:
                    index[name.lower()] = (name, [value])
                else:
                    entry[1].append(value)
            self._index = index
        return self._index

    def __getitem__(self, name: str) -> str:
        entry = self._lookup().get(name.lower()) if isinstance(name, str) else None
        if entry is None:
            raise KeyError(name)
        return entry[1][0]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._lookup()

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in self._lookup().values()])

    def __len__(self) -> int:
        return len(self._lookup())

    @overload
    def get_all(self, name: str) -> list[str]: ...
    @overload
    def get_all(self, name: str, default: list[str] | None) -> list[str] | None: ...

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        """Every value of name in arrival order; default (None: ``[]``) when absent."""
        entry = self._lookup().get(name.lower())
        if entry is None:
            return [] if default is None else default
        return list(entry[1])

    def raw_items(self) -> list[tuple[str, str]]:
        """All (name, value) pairs exactly as received, repeats and order kept."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class ResponseHeaders(MutableMapping[str, str]):
    """The response headers of one ResponseWriter, as a case-insensitive mapping.

    ``headers[name] = value`` replaces every header of that name,
    ``headers.add(name, value)`` adds one more, ``del headers[name]`` removes
    them all; reading follows :class:`Headers`. A view: the headers live in the
    writer (``ResponseWriter.set_header``/``add_header`` change the same ones)
    and go out when the handler returns. Like its writer, it raises
    RuntimeError once the handler has returned.
    """

    __slots__ = ("_writer",)

    def __init__(self, writer: ResponseWriter) -> None:
        self._writer = writer

    def _values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [v for n, v in self._writer._header_items() if n.lower() == wanted]

    def __getitem__(self, name: str) -> str:
        values = self._values(name)
        if not values:
            raise KeyError(name)
        return values[0]

    def __setitem__(self, name: str, value: str) -> None:
        self._writer.set_header(name, value)

    def __delitem__(self, name: str) -> None:
        if not self._writer.del_header(name):
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, str] = {}
        for name, _ in self._writer._header_items():
            seen.setdefault(name.lower(), name)
        return iter(list(seen.values()))

    def __len__(self) -> int:
        return len({name.lower() for name, _ in self._writer._header_items()})

    def add(self, name: str, value: str) -> None:
        """Add a header, keeping any others of the same name."""
        self._writer.add_header(name, value)

    def get_all(self, name: str) -> list[str]:
        """Every value set for name, in order (``[]`` when none)."""
        return self._values(name)

    def __repr__(self) -> str:
        return f"ResponseHeaders({self._writer._header_items()!r})"
