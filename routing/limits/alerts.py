"""A spend budget's soft threshold: one warning line and one metric increment per period.

The stores decide when a period's spend first reaches ``BudgetLimit.alert_at`` (Redis:
one ``HSETNX`` on the period's budget hash, so once across processes; process memory:
once per process); this module says so.
"""

import logging

from routing.limits.rules import BudgetLimit, usd
from routing.metrics import SPEND_ALERTS

logger = logging.getLogger(__name__)


def spend_alert(budget: BudgetLimit, spent: int) -> None:
    period = budget.period.label.split(":", 1)[0]
    percent = 100 * (budget.alert_at or 0) // budget.limit if budget.limit else 0
    logger.warning(
        "%s has spent %s of its %s budget per %s (with calls in flight; period %s): "
        "past its %s%% alert threshold",
        budget.subject,
        usd(spent, precise=True),
        usd(budget.limit, precise=True),
        period,
        budget.period.label,
        percent,
    )
    SPEND_ALERTS.labels(team=budget.team_name, budget="key" if budget.key_id is not None else "team").inc()
