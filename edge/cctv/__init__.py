"""The CCTV face-recognition camera node (SOP it-05), from the same code base as the gate.

Pure parts: ``tracker`` (one track per person), ``decision`` (best faces of a track, when that is
an alarm), ``threshold`` (the alarm threshold from a target FPIR and the gallery size),
``facelist`` (the versioned face watchlist, shared with central). The node: ``node`` (the frame
loop on ``edge.face.FaceEngine``), ``source`` (OpenCV streams, files, folders), ``evidence``
(the alarm's pictures), ``sync`` (the face list over MQTT), ``service`` (a networked node with
the gate's durable outbox) and ``cli`` (``autogate cctv run``). See docs/cctv.md.
"""
