"""Enrolments (issue 7): a document's face and fingerprint templates, for the gate's 1:1 checks.

``models`` holds the table, ``service`` creates, imports, deactivates and looks up, ``importer``
parses JSON-lines / CSV files, ``gate_auth`` checks a gate's signed request, ``views`` is the
HTTP API and ``cli`` is ``autogate enrolment``. Register with ``views.init_app(app)``.
"""
