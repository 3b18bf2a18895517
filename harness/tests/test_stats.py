import pytest

from harness import stats


def test_summarize_median_min_max():
    assert stats.summarize([3, 1, 2]) == {"median": 2, "min": 1, "max": 3, "n": 3}
    assert stats.summarize([4, 1, 2, 3])["median"] == 2.5
    assert stats.summarize([None, 5, None]) == {"median": 5, "min": 5, "max": 5, "n": 1}
    assert stats.summarize([]) is None and stats.summarize([None]) is None


def test_spread_is_relative_to_the_median():
    assert stats.spread({"median": 100.0, "min": 95.0, "max": 105.0, "n": 3}) == pytest.approx(0.1)
    assert stats.spread(None) is None


@pytest.mark.parametrize("value, text", [
    (0, "0"), (7, "7"), (12.345, "12.3"), (999, "999"), (1000, "1k"), (12345, "12.3k"),
    (45600, "45.6k"), (123456, "123k"), (1234567, "1.23M"), (None, "–"),
])
def test_fmt_count(value, text):
    assert stats.fmt_count(value) == text


def test_by_case_groups_repeats_and_keeps_only_valid_ones_in_summaries():
    def m(variant, rps, valid=True, r=1):
        return {"variant": variant, "scenario": "keepalive", "case": "c=10", "tool": "wrk",
                "params": {"connections": 10}, "round": r, "rps": rps, "valid": valid,
                "problems": [] if valid else ["socket errors: read 3"],
                "server": {"us_per_request": rps / 1000, "peak_rss_kib": 100 * r},
                "client": {"bound": rps > 150}}
    run = {"measurements": [m("a", 100), m("b", 50), m("a", 200, r=2), m("a", 999, False, 3)]}
    cases = stats.by_case(run)
    assert list(cases) == [("a", "keepalive", "c=10"), ("b", "keepalive", "c=10")]
    a = cases[("a", "keepalive", "c=10")]
    assert len(a.runs) == 3 and len(a.valid_runs) == 2
    assert a.rps == {"median": 150, "min": 100, "max": 200, "n": 2}
    assert a.summary("server", "us_per_request")["max"] == 0.2
    assert a.client_bound
    assert a.peak_rss_kib == 300
    assert a.problems == ["round 3: socket errors: read 3"]
    assert not cases[("b", "keepalive", "c=10")].client_bound
