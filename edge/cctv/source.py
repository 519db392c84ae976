"""Where a camera node's frames come from, all through OpenCV: live streams, video files, folders.

    rtsp://... http(s)://...   a network camera; read on its own thread, newest frame only
    0, 1, ...                  a local capture device (by index)
    path/to/video.mp4          a recorded video, every frame, in order
    path/to/folder/            still frames (jpg, png, ...), in file-name order

A live source is read on a thread that keeps only the newest frame, so a node slower than the
camera skips frames instead of falling minutes behind; when the stream drops, it reconnects with
a growing delay until stopped. A file source yields every frame, timed by its own clock (the
video's timestamps, or ``fps`` for a folder), so a recording gives the same result on any machine.
A frame that cannot be decoded is logged and skipped; it never stops the node.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from edge.imageload import FACE_LIMITS, ImageLimits, ImageRefused, load_image

from .gallery import IMAGE_SUFFIXES

log = logging.getLogger(__name__)

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


class SourceError(OSError):
    """The source cannot be opened at all (no such file, empty folder, bad device)."""


@dataclass(frozen=True)
class Frame:
    index: int  # position in the source (a live source counts the frames it read, skipped ones too)
    at_ms: int  # when it was taken: the source's own time for files, the wall clock for live ones
    image: np.ndarray


class FrameSource(Protocol):
    name: str
    live: bool

    def frames(self, stop: threading.Event) -> Iterator[Frame]: ...

    def close(self) -> None: ...


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def open_source(spec: str, *, fps: float | None = None, start_ms: int | None = None,
                clock_ms: Callable[[], int] = wall_ms) -> FrameSource:
    """The source *spec* names (see the module docstring)."""
    if spec.startswith(STREAM_SCHEMES):
        return LiveSource(spec, clock_ms=clock_ms)
    if spec.isdigit():
        return LiveSource(spec, device=int(spec), clock_ms=clock_ms)
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path, fps=fps or 15.0, start_ms=clock_ms() if start_ms is None else start_ms)
    if path.is_file():
        return VideoFileSource(path, start_ms=clock_ms() if start_ms is None else start_ms, fps=fps)
    raise SourceError(f"source {spec!r} is not a stream URL, a device index, a video file or a folder")


class FolderSource:
    """Still frames in file-name order, ``fps`` apart."""

    live = False

    def __init__(self, folder: Path, *, fps: float = 15.0, start_ms: int = 0,
                 limits: ImageLimits = FACE_LIMITS) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.name = str(folder)
        self.fps = fps
        self.limits = limits
        self._start_ms = start_ms
        self._files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise SourceError(f"folder {folder} holds no image files")
        self.skipped = 0

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        for index, path in enumerate(self._files):
            if stop.is_set():
                return
            try:
                image = load_image(path, limits=self.limits)
            except ImageRefused as exc:
                self.skipped += 1
                log.warning("source %s: %s refused (%s); skipped", self.name, path.name, exc.reason)
                continue
            yield Frame(index, self._start_ms + round(index * 1000 / self.fps), image)

    def close(self) -> None:
        return None


class VideoFileSource:
    """Every frame of a recorded video; times from the video's own timestamps."""

    live = False

    def __init__(self, path: Path, *, start_ms: int = 0, fps: float | None = None) -> None:
        self.name = str(path)
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise SourceError(f"video {path} cannot be opened")
        native = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps or (native if native and native > 0 else 15.0)
        self._start_ms = start_ms
        self.skipped = 0

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        index = 0
        while not stop.is_set():
            ok, image = self._capture.read()
            if not ok:
                return
            if image is None or image.ndim != 3:
                self.skipped += 1
                index += 1
                continue
            yield Frame(index, self._start_ms + round(index * 1000 / self.fps), image)
            index += 1

    def close(self) -> None:
        self._capture.release()


class LiveSource:
    """A network stream or capture device, read on its own thread; reconnects when it drops.

    :param reconnect_min_s: first wait after a failure; doubles up to ``reconnect_max_s``.
    :param read_timeout_s: how long ``frames`` waits for a new frame before asking again (so a
        stop request is seen even when the camera is silent).
    """

    live = True

    def __init__(self, url: str, *, device: int | None = None, clock_ms: Callable[[], int] = wall_ms,
                 reconnect_min_s: float = 1.0, reconnect_max_s: float = 30.0, read_timeout_s: float = 1.0,
                 capture_factory: Callable[[str | int], cv2.VideoCapture] = cv2.VideoCapture) -> None:
        self.name = url if device is None else f"device {device}"
        self._target: str | int = url if device is None else device
        self._clock_ms = clock_ms
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self._read_timeout_s = read_timeout_s
        self._factory = capture_factory
        self._latest: Frame | None = None
        self._fresh = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.read = 0
        self.dropped = 0
        self.reconnects = 0

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        if self._thread is None:
            self._thread = threading.Thread(target=self._read_loop, name=f"cctv-source-{self.name}", daemon=True)
            self._thread.start()
        last = -1
        while not stop.is_set() and not self._stopping.is_set():
            with self._fresh:
                if self._latest is None or self._latest.index == last:
                    self._fresh.wait(self._read_timeout_s)
                frame = self._latest
            if frame is None or frame.index == last:
                continue
            self.dropped += max(0, frame.index - last - 1) if last >= 0 else 0
            last = frame.index
            yield frame

    def _read_loop(self) -> None:
        delay = self._reconnect[0]
        index = 0
        while not self._stopping.is_set():
            capture = self._factory(self._target)
            if not capture.isOpened():
                capture.release()
                log.warning("source %s: cannot open; retrying in %.0f s", self.name, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._reconnect[1])
                self.reconnects += 1
                continue
            log.info("source %s: open", self.name)
            delay = self._reconnect[0]
            while not self._stopping.is_set():
                ok, image = capture.read()
                if not ok or image is None:
                    log.warning("source %s: stream dropped; reconnecting", self.name)
                    break
                frame = Frame(index, self._clock_ms(), image)
                index += 1
                self.read += 1
                with self._fresh:
                    self._latest = frame
                    self._fresh.notify_all()
            capture.release()
            if not self._stopping.is_set():
                self._stopping.wait(delay)
                self.reconnects += 1

    def close(self) -> None:
        self._stopping.set()
        with self._fresh:
            self._fresh.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
