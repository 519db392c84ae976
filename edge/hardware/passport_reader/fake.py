"""``FakePassportReader``: the ``PassportReader`` surface with no serial line, for gate tests.

``present`` lays a document on the glass: ``when_document`` fires on the caller's thread and
``wait_for_document`` returns it, exactly as the real driver delivers a record.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

from edge.hardware.passport_reader.codec import DocumentRead, check_mrz
from edge.hardware.passport_reader.errors import PassportReaderError, ReaderTimeout


class FakePassportReader:
    when_document: Callable[[DocumentRead], None] | None = None
    when_removed: Callable[[], None] | None = None

    def __init__(self) -> None:
        self._documents: queue.Queue[DocumentRead] = queue.Queue()
        self._on_glass: DocumentRead | None = None
        self.closed = False

    def present(self, mrz_lines: tuple[str, ...], image: bytes = b"", image_format: str = "jpeg") -> DocumentRead:
        check_mrz(tuple(mrz_lines))  # the real reader's record would fail the same way
        doc = DocumentRead(tuple(mrz_lines), image, image_format)
        self._on_glass = doc
        self._deliver(doc)
        return doc

    def remove(self) -> None:
        self._on_glass = None
        if self.when_removed is not None:
            self.when_removed()

    def wait_for_document(self, timeout_s: float = 5.0) -> DocumentRead:
        try:
            return self._documents.get(timeout=timeout_s)
        except queue.Empty:
            raise ReaderTimeout(f"fake passport reader: no document within {timeout_s} s") from None

    def status(self) -> str:
        return "READY" if self._on_glass is None else "DOCUMENT"

    def request_read(self) -> None:
        if self._on_glass is None:
            raise PassportReaderError("fake passport reader: READ failed: NO_DOCUMENT")
        self._deliver(self._on_glass)

    def close(self) -> None:
        self.closed = True

    def _deliver(self, doc: DocumentRead) -> None:
        self._documents.put(doc)
        if self.when_document is not None:
            self.when_document(doc)
