from __future__ import annotations

from datetime import UTC, date, datetime

from heemang_hotline.domain.consultations import Fact, Outcome, by_day, by_month, local_day, summarize


def facts(day: date, category: str, outcome: Outcome, n: int) -> list[Fact]:
    return [Fact(day, category, outcome)] * n


def test_category_shares_reproduce_the_call_centre_report() -> None:
    # The brief: check-in/other 27.5 %, public rental housing 25.0 %, disaster relief 13.3 %.
    day = date(2021, 3, 2)
    items = (
        facts(day, "check_in", Outcome.answered, 165)
        + facts(day, "housing", Outcome.information_given, 150)
        + facts(day, "disaster_relief", Outcome.information_given, 80)
        + facts(day, "general_welfare", Outcome.linked_to_service, 205)
    )
    summary = summarize("2021-03", items)
    shares = {s.category: s.share_pct for s in summary.by_category}
    assert shares["check_in"] == 27.5 and shares["housing"] == 25.0 and shares["disaster_relief"] == 13.3
    assert summary.by_category[0].category == "general_welfare"  # largest first
    assert summary.linkages == 205


def test_per_day_average_counts_the_days_the_centre_answered() -> None:
    items = facts(date(2021, 3, 2), "housing", Outcome.answered, 110) + facts(
        date(2021, 3, 3), "housing", Outcome.referred_to_intake, 139
    )
    summary = summarize("x", items)
    assert summary.total == 249 and summary.active_days == 2 and summary.per_day_average == 124.5
    assert summary.linkages == 139
    assert [p.period for p in by_day(items)] == ["2021-03-02", "2021-03-03"]
    assert [(p.period, p.total) for p in by_month(items)] == [("2021-03", 249)]


def test_empty_period_and_kst_days() -> None:
    assert summarize("x", []).per_day_average == 0.0
    # 23:30 UTC on 1 March is already 2 March in Korea.
    assert local_day(datetime(2021, 3, 1, 23, 30, tzinfo=UTC)) == date(2021, 3, 2)
