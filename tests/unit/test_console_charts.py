"""The console's SVG charts: points placed in their window, colours stable per
name, and nothing of the data written unescaped."""

from datetime import UTC, datetime, timedelta

from app.api.console.charts import PALETTE, Chart, svg

START = datetime(2026, 12, 1, tzinfo=UTC)
END = START + timedelta(hours=1)


def test_points_span_the_window_and_the_top_value():
    drawn = svg(Chart("t", START, END, {"q": [(START, 0.0), (END, 10.0)]}))
    # Left edge at the bottom, right edge at the top of the plot.
    assert 'points="44.0,122.0 560.0,8.0"' in drawn
    assert ">10<" in drawn


def test_a_name_keeps_its_colour_when_other_series_are_missing():
    names = ["background", "communication", "money"]
    both = svg(Chart("t", START, END, {"background": [], "money": []}, names))
    alone = svg(Chart("t", START, END, {"money": []}, names))
    money = PALETTE[2]
    assert f'background:{money}"></span>money' in both
    assert f'background:{money}"></span>money' in alone


def test_names_and_titles_are_escaped():
    drawn = svg(Chart("<b>", START, END, {"<script>x</script>": [(START, 1.0)]}))
    assert "<script>" not in drawn and "<b>" not in drawn
    assert "&lt;script&gt;" in drawn


def test_an_empty_window_says_so():
    assert "no data in this window" in svg(Chart("t", START, END, {}))
