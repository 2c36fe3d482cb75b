"""The pupils' version of a school's results: "Dette fortalte dere" / "What you told us".

Used by ``notebooks/briefs/pupils_brief.ipynb`` (``ssp brief --audience pupils``). Everything
here reads the same protected publication as the adult brief (:attr:`Brief.latest`): a
number the adult brief hides is never shown; an indicator whose number is hidden is named in
words ("too few answered to show a number"). Family economy is left out: it is not a topic
for a classroom wall.

* :func:`main_points`: four to six short sentences, strengths first where true, then what
  needs attention, each with its share and, where the difference is statistically clear,
  whether it is more or fewer than in the whole municipality;
* :func:`points_figure`: the shown shares as large bars;
* :func:`next_steps_html`: what the school and municipality will do (only when given);
* :func:`follow_up_html`: "Dette har vi gjort", from the follow-up file of what pupils
  answered back last time (:func:`read_follow_up`; format in ``docs/pupils.md``), also used by
  the adult brief;
* :func:`questions_html` and :func:`facilitator_html`: questions for a conversation, and a
  page for the adult who leads it;
* :func:`lix`: the readability index the text is held to (LIX <= 40).

Examples
--------
>>> lix("Vi liker skolen. Vi har venner.")
3.0
"""

from __future__ import annotations

import csv
import html as _html
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

from ssp_research.brief import language, theme
from ssp_research.brief.content import Brief, Html
from ssp_research.core import paths
from ssp_research.core.errors import ParameterError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["lix", "main_points", "main_points_html", "points_figure", "show_points",
           "next_steps_html", "read_follow_up", "follow_up_html", "questions_html",
           "facilitator_html", "FOLLOW_UP_COLUMNS", "LEFT_OUT"]

#: Indicators left out of the pupils' version (not a topic for a classroom wall).
LEFT_OUT = frozenset({"poor_economy"})
#: Columns of the follow-up file (CSV, UTF-8, comma or semicolon).
FOLLOW_UP_COLUMNS = ("theme", "suggestion", "priority", "response")

# What the indicator says, as a pupil would say it (after "N prosent av dere ...").
PHRASES = {
    "nb": {
        "close_friend": "har en venn de kan stole på",
        "lonely": "føler seg ofte ensomme",
        "bullied": "blir mobbet",
        "thriving": "trives på skolen",
        "local_env": "liker seg der de bor",
        "inactive": "er lite fysisk aktive",
        "screen_4h": "bruker skjerm mer enn fire timer om dagen",
        "depressive": "er ofte triste eller bekymret",
        "good_health": "synes helsa er god",
    },
    "en": {
        "close_friend": "have a friend they can trust",
        "lonely": "often feel lonely",
        "bullied": "are bullied",
        "thriving": "like being at school",
        "local_env": "like where they live",
        "inactive": "are not very physically active",
        "screen_4h": "spend more than four hours a day on screens",
        "depressive": "are often sad or worried",
        "good_health": "feel their health is good",
    },
}

TEXTS = {
    "nb": {
        "of_you": "{pct} av dere {phrase}.",
        "more": "Det er flere enn blant alle elevene i {city}.",
        "fewer": "Det er færre enn blant alle elevene i {city}.",
        "fewer_lead": "Færre av dere {phrase} enn blant alle elevene i {city}: {pct}.",
        "hidden": "Om «{label}»: for få svarte til at vi kan vise et tall.",
        "good_news": "Dette er bra",
        "attention": "Dette må vi jobbe med",
        "next": "Dette skal vi gjøre",
        "done": "Dette har vi gjort",
        "done_intro": "Sist sa dere hva dere ønsket. Her er det vi har gjort.",
        "done_intro_adults": "Elevene sa sist hva de ønsket. Her er det som er gjort.",
        "questions": "Spørsmål vi kan snakke om",
        "priority": "viktighet",
        "facilitator": "Til den voksne som leder samtalen",
        "fig_alt": "Stolper som viser hvor mange prosent av elevene som {items}.",
        "percent": "prosent",
    },
    "en": {
        "of_you": "{pct} of you {phrase}.",
        "more": "That is more than among all pupils in {city}.",
        "fewer": "That is fewer than among all pupils in {city}.",
        "fewer_lead": "Fewer of you {phrase} than among all pupils in {city}: {pct}.",
        "hidden": "About “{label}”: too few answered for us to show a number.",
        "good_news": "Good news",
        "attention": "What we need to work on",
        "next": "What we will do",
        "done": "What we have done",
        "done_intro": "Last time you told us what you wanted. Here is what we have done.",
        "done_intro_adults": "Last time the pupils said what they wanted. Here is what has "
                             "been done.",
        "questions": "Questions to talk about",
        "priority": "priority",
        "facilitator": "For the adult leading the conversation",
        "fig_alt": "Bars showing the percentage of pupils who {items}.",
        "percent": "percent",
    },
}

QUESTIONS = {
    "nb": [
        "Hva er det beste med skolen vår?",
        "Hva kan vi gjøre for at ingen skal være alene i friminuttene?",
        "Hva gjør at en klasse er et godt sted å være?",
        "Hva bør elevrådet ta opp med rektor først?",
    ],
    "en": [
        "What is the best thing about our school?",
        "What can we do so that no one is alone at break time?",
        "What makes a class a good place to be?",
        "What should the pupils' council raise with the head first?",
    ],
}

FACILITATOR = {
    "nb": [
        "Vis tallene for hele gruppen. Snakk om skolen, ikke om enkeltelever.",
        "Ikke be noen fortelle om egne opplevelser. Ingen skal måtte si om de er ensomme, "
        "mobbet eller triste. Spør heller: hva kan vi gjøre?",
        "Alle svar er anonyme. Ikke gjett på hvem som har svart hva.",
        "Skriv ned forslagene og hva dere blir enige om. Legg dem i oppfølgingsfilen, så "
        "kommer de med i neste rapport.",
        "Noen kan bli lei seg. Si hvor de kan få hjelp: {help}.",
    ],
    "en": [
        "Show the figures for the whole group. Talk about the school, not about pupils.",
        "Do not ask anyone to tell about their own experiences. No one should have to say "
        "whether they are lonely, bullied or sad. Ask instead: what can we do?",
        "All answers are anonymous. Do not guess who answered what.",
        "Write down the suggestions and what you agree on. Put them in the follow-up file, "
        "so they appear in the next report.",
        "Someone may get upset. Say where they can get help: {help}.",
    ],
}

_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)


def lix(text: str) -> float:
    """LIX readability (Björnsson): words per sentence + 100 x share of words over six
    letters. Below 30 is very easy, 30-40 easy (children's books), 40-50 ordinary prose.

    Sentences end at ``.``, ``!``, ``?`` or ``:`` and at line breaks between items; numbers
    are not words.
    """
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len([s for s in re.split(r"[.!?:]+|\n+", text) if _WORD.search(s)]))
    long_words = sum(len(w) > 6 for w in words)
    return round(len(words) / sentences + 100 * long_words / len(words), 1)


def _rows(b: Brief):
    t = b.latest
    return t[~t["indicator"].isin(LEFT_OUT) & t["indicator"].isin(PHRASES[b.lang])]


def main_points(b: Brief, *, max_points: int = 6) -> dict[str, list[str]]:
    """``{"good": [...], "attention": [...], "hidden": [...]}``: short sentences about the
    shown shares (strengths first), and the indicators whose numbers are hidden, in words."""
    T, lang = TEXTS[b.lang], b.lang
    good, attention, hidden = [], [], []
    for r in _rows(b).itertuples():
        if r.suppressed or np.isnan(r.estimate):
            hidden.append((0.0, T["hidden"].format(label=b.label(r.indicator))))
            continue
        pct = language.format_percent(r.estimate, lang)
        text = T["of_you"].format(pct=pct, phrase=PHRASES[lang][r.indicator])
        text = text[0].upper() + text[1:]
        clear = bool(b.unit_type != "city" and np.isfinite(r.diff_ci_low)
                     and (r.diff_ci_low > 0 or r.diff_ci_high < 0))
        better = bool(r.higher_is_better)
        if clear:  # said only where the difference from the municipality is clear
            text += " " + T["more" if r.diff_ci_low > 0 else "fewer"].format(city=b.city)
        if not better and clear and r.diff_ci_high < 0:  # a problem clearly rarer here
            good.append((1 - r.estimate, T["fewer_lead"].format(
                phrase=PHRASES[lang][r.indicator], city=b.city, pct=pct)))
        elif better and r.estimate >= 0.5:  # a good thing most of you have
            good.append((r.estimate, text))
        elif not better:
            attention.append((r.estimate + (0.5 if clear else 0), text))
    good.sort(key=lambda x: -x[0])
    attention.sort(key=lambda x: -x[0])
    n_good = min(len(good), 3)
    n_att = min(len(attention), max(2, max_points - n_good))
    n_good = min(len(good), max_points - n_att)
    return {"good": [t for _, t in good[:n_good]], "attention": [t for _, t in attention[:n_att]],
            "hidden": [t for _, t in hidden]}


def summary(b: Brief) -> str:
    """The main points as plain text, one group per line block (for checking a committed run)."""
    return "\n".join(f"{part} {len(lines)}" + "".join(f"\n  {line}" for line in lines)
                     for part, lines in main_points(b).items())


def main_points_html(b: Brief) -> Html:
    """The main points as two short lists (good news, what needs work) and hidden ones."""
    T = TEXTS[b.lang]
    pts = main_points(b)
    parts = []
    for key, title in (("good", T["good_news"]), ("attention", T["attention"])):
        if pts[key]:
            items = "".join(f"<li>{_html.escape(s)}</li>" for s in pts[key])
            parts.append(f'<h3>{_html.escape(title)}</h3><ul class="ssp-points">{items}</ul>')
    if pts["hidden"]:
        parts.append('<p class="ssp-note">' + " ".join(map(_html.escape, pts["hidden"]))
                     + "</p>")
    return Html("\n".join(parts))


def points_figure(b: Brief) -> Figure | None:
    """The shown shares as large horizontal bars (green: good things; orange: problems)."""
    rows = _rows(b)
    rows = rows[~rows["suppressed"].astype(bool) & rows["estimate"].notna()]
    if rows.empty:
        return None
    T, lang = TEXTS[b.lang], b.lang
    # narrow and tall, the label above each bar: large text also on a phone
    fig = theme.new_figure((4.2, 0.72 * len(rows) + 0.2))
    ax = fig.subplots()
    labels = [PHRASES[lang][i] for i in rows["indicator"]]
    values = 100 * rows["estimate"].to_numpy(float)
    colours = ["#1b7837" if h else "#d95f02" for h in rows["higher_is_better"].astype(bool)]
    y = np.arange(len(rows))[::-1] * 1.0
    ax.barh(y, values, color=colours, height=0.42)
    for yi, v, label in zip(y, values, labels):
        ax.text(0, yi + 0.3, label[0].upper() + label[1:], va="bottom", fontsize=12)
        ax.text(v + 2, yi, language.format_percent(v / 100, lang), va="center", fontsize=12,
                fontweight="bold")
    ax.set_xlim(0, 118)
    ax.set_ylim(-0.5, y.max() + 0.95)
    ax.set_axis_off()
    alt = T["fig_alt"].format(items="; ".join(
        f"{label} ({language.format_percent(v / 100, lang)})" for label, v in zip(labels, values)))
    theme.set_alt_text(fig, alt)
    return fig


def show_points(b: Brief) -> None:
    """Show :func:`points_figure` (nothing when every number is hidden)."""
    theme.show_rendered(lambda: points_figure(b))


def _lines(value: str, lang: str, what: str) -> list[str]:
    """A parameter given as text (one point per line) or as a YAML file (a list, or a
    mapping ``nb: [...]`` / ``en: [...]``)."""
    value = (value or "").strip()
    if not value:
        return []
    if value.endswith((".yml", ".yaml")):
        path = paths.in_project(value)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise ParameterError(f"cannot read {what}: {err}", file=path,
                                 hint="a YAML list of short sentences, or nb:/en: lists"
                                 ) from None
        if isinstance(data, dict):
            data = data.get(lang) or data.get("nb") or []
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise ParameterError(f"{what} must be a list of sentences", file=path,
                                 hint="- Vi lager en vennebenk i skolegården.")
        return [x.strip() for x in data if x.strip()]
    return [line.strip(" -•\t") for line in value.splitlines() if line.strip(" -•\t")]


def next_steps_html(b: Brief, next_steps: str) -> Html:
    """What the school and the municipality will do next: shown only when given."""
    lines = _lines(next_steps, b.lang, "next_steps")
    if not lines:
        return Html("")
    items = "".join(f"<li>{_html.escape(s)}</li>" for s in lines)
    return Html(f'<h2>{_html.escape(TEXTS[b.lang]["next"])}</h2><ul class="ssp-points">'
                f"{items}</ul>")


def read_follow_up(path: str | Path) -> list[dict[str, str]]:
    """The follow-up file: what pupils answered back and what the school did.

    CSV (UTF-8; comma or semicolon) with the columns :data:`FOLLOW_UP_COLUMNS`: ``theme``
    (e.g. friendship), ``suggestion`` (what the pupils suggested), ``priority`` (their
    priority: høy/middels/lav or 1-3), ``response`` (what the school did or decided). Rows
    without a suggestion are refused with their row number.
    """
    path = paths.in_project(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise ParameterError(f"cannot read the follow-up file: {err}", file=path,
                             hint="give follow_up as a path relative to the project "
                                  "(see docs/pupils.md)") from None
    dialect = ";" if text.splitlines()[0].count(";") > text.splitlines()[0].count(",") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=dialect)
    missing = [c for c in FOLLOW_UP_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ParameterError(f"the follow-up file lacks the column(s) {', '.join(missing)}",
                             file=path, rule=f"columns {', '.join(FOLLOW_UP_COLUMNS)}",
                             hint="see docs/pupils.md for the format")
    rows = []
    for i, row in enumerate(reader, start=2):
        if not (row.get("suggestion") or "").strip():
            raise ParameterError("a row without a suggestion", file=path, row=i,
                                 column="suggestion", hint="fill it in or delete the row")
        rows.append({c: (row.get(c) or "").strip() for c in FOLLOW_UP_COLUMNS})
    return rows


def follow_up_html(b: Brief, follow_up: str, *, for_pupils: bool = True) -> Html:
    """"Dette har vi gjort": the follow-up recorded since the last survey (empty without a
    file), addressed to the pupils or (``for_pupils=False``, the adult brief) about them.
    The file holds words only, no numbers from the survey."""
    if not (follow_up or "").strip():
        return Html("")
    T = TEXTS[b.lang]
    items = []
    for r in read_follow_up(follow_up):
        head = r["theme"] + ": " if r["theme"] else ""
        prio = f" ({T['priority']}: {r['priority']})" if r["priority"] else ""
        answer = f" → {r['response']}" if r["response"] else ""
        items.append(f"<li>{_html.escape(head + r['suggestion'] + prio + answer)}</li>")
    intro = T["done_intro" if for_pupils else "done_intro_adults"]
    return Html(f"<h2>{_html.escape(T['done'])}</h2><p>{_html.escape(intro)}</p>"
                f'<ul class="ssp-points">{"".join(items)}</ul>')


def questions_html(b: Brief) -> Html:
    """At least three questions for a conversation in class, the pupils' council or the
    youth council."""
    T = TEXTS[b.lang]
    items = "".join(f"<li>{_html.escape(q)}</li>" for q in QUESTIONS[b.lang])
    return Html(f'<h2>{_html.escape(T["questions"])}</h2><ol class="ssp-questions">{items}'
                "</ol>")


def facilitator_html(b: Brief, help_contacts: str) -> Html:
    """A page for the adult who leads the conversation: how to present, what not to ask,
    where pupils can get help (``help_contacts``)."""
    T = TEXTS[b.lang]
    helpers = help_contacts.strip() or ("helsesykepleier på skolen" if b.lang == "nb"
                                        else "the school nurse")
    items = "".join(f"<li>{_html.escape(x.format(help=helpers))}</li>"
                    for x in FACILITATOR[b.lang])
    return Html(f'<section class="ssp-facilitator"><h2>{_html.escape(T["facilitator"])}</h2>'
                f"<ul>{items}</ul></section>")
