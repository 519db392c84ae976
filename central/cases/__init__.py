"""Escalation cases: the SOP workflows (central/workflows) run as stored, audited cases.

    models.py     Case and CaseStepRecord tables on central's Base
    mapping.py    pure: which gate event opens which case, entering at which step
    documents.py  pure: the printable documents (STP, LK, Nodin, BAST ...) filled from a case
    tariff.py     the overstay tariff table (default from fees.py, or a JSON file)
    service.py    open, complete (engine + audit), query with the case clock; open_cases_for_event
    views.py      /cases pages, printable documents, /api/v1/cases JSON; ``init_app``

The engine stays pure; this package owns storage, HTTP and the clock.
"""
