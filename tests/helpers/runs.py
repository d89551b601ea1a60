"""What a consolidation snapshot lists, for tests that compare two of them."""

from consolidation.models import ConsolidationRun
from consolidation.selectors_runs import campaigns_of, listed_comment_ids
from consolidation.services.aggregation import Computed


def listed(snapshot: ConsolidationRun | Computed) -> list[int]:
    """The comment ids a stored run (or a computed result) lists, section by section in reading order."""
    if isinstance(snapshot, Computed):
        return list(snapshot.listed)
    return [cid for ids in listed_comment_ids(run=snapshot).values() for cid in ids]


def campaigns(snapshot: ConsolidationRun | Computed) -> list[dict]:
    """The campaigns of a stored run (or a computed result), each with its comment ids."""
    if isinstance(snapshot, Computed):
        return snapshot.campaigns
    return campaigns_of(run=snapshot)
