"""Watchlist tables on central's ``Base``: the entries, the numbered versions, and the change log.

Every change is a row of ``watchlist_changes`` with the entry as it was before and after, under
one ``watchlist_versions`` row; so the list at any version can be rebuilt and the delta between
any two versions computed from the log alone. Deactivated entries are kept (``active=False``),
never deleted: the log and the audit trail must still be able to name them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from central.models import Base, utcnow


class WatchlistEntryRow(Base):
    """One alert (cekal) as central holds it; ``WatchlistEntry`` fields plus bookkeeping."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (Index("ix_watchlist_entries_list_active", "list", "active"),)

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # pencegahan / penangkalan / interpol_sltd / interpol_notice
    # attribute renamed: a class attribute named "list" would shadow the builtin in annotations
    list_name: Mapped[str] = mapped_column("list", String(32))
    document_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    # ";"-joined upper-case copy of document_numbers, for LIKE search on both databases
    document_numbers_text: Mapped[str] = mapped_column(String(400), default="", index=True)
    surname: Mapped[str] = mapped_column(String(120), default="", index=True)
    given_names: Mapped[str] = mapped_column(String(120), default="")
    birth_date: Mapped[str | None] = mapped_column(String(10))  # "YYYY", "YYYY-MM" or "YYYY-MM-DD"
    nationality: Mapped[str | None] = mapped_column(String(3))
    sex: Mapped[str | None] = mapped_column(String(1))
    agency: Mapped[str] = mapped_column(String(200), default="")  # instansi pengusul
    interested_party: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    valid_from: Mapped[date | None]
    valid_until: Mapped[date | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer)  # the version that last changed this entry
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class WatchlistVersion(Base):
    """One published state of the lists. Version 0 is the empty list and has no row."""

    __tablename__ = "watchlist_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    entries: Mapped[int] = mapped_column(Integer, default=0)  # entries in the snapshot
    sha256: Mapped[str] = mapped_column(String(64))  # of WatchlistSnapshot.canonical_json()
    # Set by the publisher: when it went out and how many retained chunk topics it holds, so the
    # next publication can clear them (a retained topic lives until an empty message replaces it).
    published_at: Mapped[datetime | None]
    chunk_count: Mapped[int | None]
    retained_cleared: Mapped[bool] = mapped_column(Boolean, default=False)


class WatchlistChange(Base):
    """One entry changed by one version: ``before``/``after`` are ``WatchlistEntry`` JSON, or
    null where the entry was not in the published list (new, or deactivated)."""

    __tablename__ = "watchlist_changes"
    __table_args__ = (Index("ix_watchlist_changes_version", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(ForeignKey("watchlist_versions.version"))
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    op: Mapped[str] = mapped_column(String(8))  # add / update / remove
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
