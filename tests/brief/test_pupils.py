"""The pupils' version ("Dette fortalte dere"): plain, short, protected like the adult brief."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from ssp_research import cli
from ssp_research.brief import content, language, pupils
from ssp_research.core.errors import ParameterError
from ssp_research.disclosure import audit
from ssp_research.render import PUPILS_TEMPLATE, run_brief

SMALL, LARGE = "Kvernbekken skole", "Bekkedalen skole"  # 53 and ~300 answers in 2025


class _Visible(HTMLParser):
    """The text a reader sees: no <script>, <style> or <head>."""

    def __init__(self):
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        if tag in ("li", "p", "h1", "h2", "h3", "br"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "".join(parser.parts)


@pytest.fixture(scope="module")
def briefs(tmp_path_factory):
    out = tmp_path_factory.mktemp("pupils")
    follow = out / "oppfolging.csv"
    follow.write_text("theme;suggestion;priority;response\n"
                      "vennskap;En vennebenk i skolegården;høy;Benken står ved inngangen\n",
                      encoding="utf-8")
    made = {}
    for unit in (SMALL, LARGE):
        made[unit] = run_brief({"unit_type": "school", "unit": unit}, template=PUPILS_TEMPLATE,
                               out_dir=out)
    made["follow"] = run_brief({"unit_type": "school", "unit": LARGE, "lang": "en",
                                "follow_up": str(follow),
                                "next_steps": "We will start a friendship week.\n"
                                              "The pupils' council meets the head in May."},
                               template=PUPILS_TEMPLATE, out_dir=out / "en")
    return made


@pytest.mark.parametrize("unit", [SMALL, LARGE])
def test_pupils_version_is_plain_short_and_passes_the_audit(briefs, unit):
    res = briefs[unit]
    assert res.html_path.name.endswith("_nb_pupils.html") and res.pdf_path.is_file()
    assert audit(res.html_path) == [] and audit(res.pdf_path) == []
    html = res.html_path.read_text(encoding="utf-8")
    assert '<html lang="nb">' in html and "Dette fortalte dere" in html
    text = visible_text(html)
    words = re.findall(r"[^\W\d_]+", text)
    assert len(words) <= 900
    assert pupils.lix(text) <= 40, pupils.lix(text)
    questions = re.search(r'<ol class="ssp-questions">(.*?)</ol>', html, re.S).group(1)
    assert questions.count("<li>") >= 3
    assert 'alt="' in html and "Til den voksne som leder samtalen" in html
    assert "data_path" not in text and "publication_path" not in text  # no code words
    # without next steps or a follow-up file, neither section appears
    assert "Dette skal vi gjøre" not in text and "Dette har vi gjort" not in text


@pytest.mark.parametrize("unit", [SMALL, LARGE])
def test_no_number_the_adult_brief_hides(briefs, unit):
    adult = content.load(unit_type="school", unit=unit, lang="nb")
    latest = adult.latest
    shown = {language.format_percent(v, "nb") for v in latest.loc[~latest["suppressed"],
                                                                  "estimate"]}
    text = visible_text(briefs[unit].html_path.read_text(encoding="utf-8"))
    percents = set(re.findall(r"\d+\xa0%", text))
    assert percents and percents <= shown
    for name in latest.loc[latest["suppressed"], "indicator"]:
        if name in pupils.PHRASES["nb"]:
            assert pupils.PHRASES["nb"][name] not in text  # hidden: named in words only
            assert f"«{adult.label(name)}»: for få svarte" in text


def test_small_school_gets_words_where_numbers_are_hidden(briefs):
    text = visible_text(briefs[SMALL].html_path.read_text(encoding="utf-8"))
    assert "for få svarte til at vi kan vise et tall" in text


def test_follow_up_and_next_steps_appear_when_given(briefs, tmp_path):
    html = briefs["follow"].html_path.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "What you told us" in html
    assert "What we have done" in html and "En vennebenk i skolegården" in html
    assert "What we will do" in html and "friendship week" in html
    # the adult brief of the next wave gets the same section, about the pupils
    b = content.load(unit_type="school", unit=LARGE, lang="nb")
    follow = tmp_path / "f.csv"
    follow.write_text("theme,suggestion,priority,response\n,Mer tid ute,2,\n", encoding="utf-8")
    section = pupils.follow_up_html(b, str(follow), for_pupils=False)
    assert "Dette har vi gjort" in section and "Elevene sa sist" in section
    assert pupils.follow_up_html(b, "") == ""


def test_follow_up_file_errors_name_file_row_and_column(tmp_path):
    bad = tmp_path / "f.csv"
    bad.write_text("theme,suggestion\nx,y\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="priority, response") as err:
        pupils.read_follow_up(bad)
    assert err.value.file.endswith("f.csv")
    bad.write_text("theme,suggestion,priority,response\nx,,1,\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="without a suggestion") as err:
        pupils.read_follow_up(bad)
    assert err.value.row == 2 and err.value.column == "suggestion"


def test_lix():
    assert pupils.lix("Vi liker skolen. Vi har venner.") == 3.0
    # long words raise it: 4 words, 1 sentence, 3 of them over six letters
    assert pupils.lix("Kommunens oppfølgingsarbeid fungerer godt.") == pytest.approx(79.0)


def test_audience_and_template_exclude_each_other(capsys):
    assert cli.main(["brief", "--audience", "pupils", "--template", "x.ipynb"]) == 2
    assert "exclude each other" in capsys.readouterr().err
