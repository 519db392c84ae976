"""People a CCTV alarm was confirmed for and flagged "to every gate" (SOP it-05), applied to screening.

Pure: a gate holds the flags central publishes (``protocol.cctv.PersonFlags``) and, for as long as a
flag is in force, treats a *similar* watchlist hit on a flagged entry as *identical*: the person was
seen and confirmed in the checkpoint area by the operator, so a name-alike traveller at a gate is
held for the supervisor (cekal identik) instead of walking on with an officer's review later.
An exact hit is a hold anyway; no hit stays no hit (a flag never invents one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.watchlist.model import ScreeningCandidate, ScreeningResult


@dataclass(frozen=True)
class Flag:
    flag_id: str
    entry_id: str
    expires_at_ms: int


@dataclass(frozen=True)
class FlagSet:
    """The flags of one publication; ``published_at_ms`` orders publications (newest wins)."""

    flags: tuple[Flag, ...] = ()
    published_at_ms: int = 0

    def flagged(self, now_ms: int) -> frozenset[str]:
        """Entry ids flagged and not expired at *now_ms*."""
        return frozenset(f.entry_id for f in self.flags if f.expires_at_ms > now_ms)


def escalate(result: ScreeningResult, flagged: Iterable[str]) -> ScreeningResult:
    """*result* with a similar hit on a flagged entry raised to identical (that entry first)."""
    flagged = frozenset(flagged)
    if result.level != "similar" or not flagged:
        return result
    hit = next((c for c in result.candidates if c.level == "similar" and c.entry_id in flagged), None)
    if hit is None:
        return result
    raised = ScreeningCandidate(entry_id=hit.entry_id, list=hit.list, level="identical", score=hit.score,
                                reasons=[*hit.reasons, "flagged by a confirmed CCTV alarm"])
    others = [c for c in result.candidates if c is not hit]
    return ScreeningResult(id=result.id, level="identical", candidates=[raised, *others])
