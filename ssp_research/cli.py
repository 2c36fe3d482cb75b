"""The ``ssp`` command: a thin layer over the library functions.

Each sub-command parses its arguments and calls one documented library function. Every
workbench error (:class:`ssp_research.core.errors.SSPError`) is printed as a readable message and
exits with status 2; nothing is written half-way (the library writes atomically).

Sub-commands are registered in :data:`COMMANDS`; each stage adds its own ``_add_<name>``
(arguments) and ``_run_<name>`` (call) pair below.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ssp_research import __version__
from ssp_research.core.errors import SSPError

__all__ = ["main", "build_parser"]

# name -> (help, add_arguments(parser), run(args) -> exit code)
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable]] = {}


def command(name: str, help: str):
    """Register ``_add`` / ``_run`` for a sub-command (decorates the ``_add`` function)."""

    def decorate(add: Callable[[argparse.ArgumentParser], None]):
        run = globals()[add.__name__.replace("_add_", "_run_")]
        COMMANDS[name] = (help, add, run)
        return add

    return decorate


# --- stage commands: each pair is owned by its stage -------------------------------------------
# (handlers defined before their registration so that @command can find them)


def _run_synth(args) -> int:
    from ssp_research.data import synth

    rows = args.rows if args.rows is not None else (1_000_000 if args.national else None)
    result = synth.generate(rows=rows, national=args.national, seed=args.seed)
    for _role, path in synth.write(result, args.out).items():
        print(path)
    print(f"({len(result.data)} respondents, {result.data['school'].nunique()} schools)",
          file=sys.stderr)
    return 0


@command("synth", "Generate the synthetic survey with planted truth (default: data/synthetic)")
def _add_synth(p) -> None:
    p.add_argument("--out", default=None, help="output folder (default: data/synthetic)")
    p.add_argument("--seed", type=int, default=20261122, help="random seed (default: 20261122)")
    p.add_argument("--rows", type=int, default=None,
                   help="total respondents over the four waves (default: 26000; national 1e6)")
    p.add_argument("--national", action="store_true",
                   help="~350 municipalities, ~2,000 schools, no raw exports (benchmarks)")


def _use_ledger(folder) -> None:
    """``--ledger DIR``: this command and the kernels it starts use that ledger folder."""
    if folder:
        import os

        os.environ["SSP_LEDGER_DIR"] = str(Path(folder).resolve())


def _template(args, render):
    """The template of ``--template``, or the one of ``--audience`` (adults: the evidence
    brief; pupils: "Dette fortalte dere")."""
    from ssp_research.core.errors import ParameterError

    if args.template and args.audience != "adults":
        raise ParameterError("--template and --audience exclude each other",
                             hint="--audience pupils picks notebooks/briefs/pupils_brief.ipynb")
    if args.template:
        return args.template
    return render.PUPILS_TEMPLATE if args.audience == "pupils" else render.DEFAULT_TEMPLATE


def _run_brief(args) -> int:
    from ssp_research import render

    _use_ledger(args.ledger)

    if args.refresh:
        for path in render.refresh_templates([args.template] if args.template else None,
                                             progress=args.progress):
            print(path)
        return 0
    template = _template(args, render)
    params = render.parse_cli_parameters(template, args.param)
    for name, value in (("unit_type", args.unit_type), ("unit", args.unit), ("wave", args.wave),
                        ("lang", args.lang), ("framework", args.framework),
                        ("data_path", args.data)):
        if value is not None:
            params[name] = value
    result = render.run_brief(params, template=template, out_dir=args.out, pdf=not args.no_pdf,
                              progress=args.progress)
    print(result.html_path)
    if result.pdf_path:
        print(result.pdf_path)
    print(f"({result.seconds:.1f} s; executed notebook: {result.notebook_path})", file=sys.stderr)
    return 0


@command("brief", "Execute the evidence-brief notebook for one unit and write HTML + PDF")
def _add_brief(p) -> None:
    p.add_argument("--unit-type", choices=["city", "district", "school"], default=None,
                   help="level of the unit (default: city)")
    p.add_argument("--unit", default=None, help="unit name (default: Trondheim)")
    p.add_argument("--wave", type=int, default=None, help="survey wave (default: the latest)")
    p.add_argument("--lang", choices=["nb", "en"], default=None, help="language (default: nb)")
    p.add_argument("--framework", default=None, help="strategy framework (default: trondheim_ssp)")
    p.add_argument("--data", default=None,
                   help="tidy data (default: data/synthetic/trondheim.parquet)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any other template parameter (repeatable), e.g. -p pool=3")
    p.add_argument("--template", default=None, help="notebook template (default: evidence brief)")
    p.add_argument("--audience", choices=("adults", "pupils"), default="adults",
                   help="pupils: the pupils' version, \"Dette fortalte dere\" (default: adults)")
    p.add_argument("--out", default=None, help="output folder (default: output/briefs)")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF")
    p.add_argument("--progress", action="store_true", help="per-cell progress bar")
    p.add_argument("--refresh", action="store_true",
                   help="re-execute the brief templates' committed default runs in place")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the release ledgers' folder (default: output/ledger or $SSP_LEDGER_DIR)")


def _run_study(args) -> int:
    from ssp_research.render import parse_cli_parameters
    from ssp_research.render.study import run_study

    _use_ledger(args.ledger)
    params = parse_cli_parameters(args.notebook, args.param)
    path = run_study(args.notebook, params, data=args.data, out=args.out, update=args.update,
                     progress=not args.no_progress)
    print(path)
    return 0


@command("study", "Execute a study notebook on some data; the run goes to output/studies/")
def _add_study(p) -> None:
    p.add_argument("notebook", help="the study notebook, e.g. "
                                    "notebooks/studies/loneliness_social_gradient.ipynb")
    p.add_argument("--data", default=None,
                   help="data file (relative to the project or absolute; default: the "
                        "notebook's data_path, the shipped synthetic data)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any other parameter of the notebook (repeatable)")
    p.add_argument("--out", default=None,
                   help="executed copy (default: output/studies/<notebook>__<data>.ipynb)")
    p.add_argument("--update", action="store_true",
                   help="write the run over the notebook itself (shipped synthetic data only): "
                        "the committed run nbval checks")
    p.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the release ledgers' folder (default: output/ledger or $SSP_LEDGER_DIR)")


def _run_notebook(args) -> int:
    from ssp_research.render import notebook_check

    if args.action == "setup-git":
        for line in notebook_check.setup_git(args.repo):
            print(line)
        return 0
    return notebook_check.main(args.files)


@command("notebook", "Notebooks in git: check for outputs from real data and local paths; "
                     "set up the commit hook and readable diffs")
def _add_notebook(p) -> None:
    p.add_argument("action", choices=["check", "setup-git"],
                   help="check: the given notebooks (default: every tracked one), exit 1 on "
                        "problems; setup-git: install the pre-commit hook and nbdime's git "
                        "drivers in this working copy")
    p.add_argument("files", nargs="*", help="notebooks to check (default: all tracked)")
    p.add_argument("--repo", default=".", help="working copy for setup-git (default: .)")


def _run_pilot(args) -> int:
    import time

    from ssp_research.analysis import pilot_plan
    from ssp_research.core import paths
    from ssp_research.core.errors import ParameterError
    from ssp_research.data import io, load_codebook

    t0 = time.perf_counter()
    path = Path(args.data) if args.data else paths.synthetic_dir() / "trondheim.parquet"
    data = io.read_survey(path).data
    column = args.indicator
    if column not in data.columns or not column.startswith("ind_"):
        column = load_codebook(args.codebook).indicator_column(args.indicator)
    v = pilot_plan.variation_from_data(data, column, leave_out=args.leave_out)
    schools = args.schools or int(data["school"].nunique())
    if args.pilot_schools >= schools:
        raise ParameterError(f"{args.pilot_schools} pilot schools of {schools}",
                             rule="fewer pilot schools than schools",
                             hint="lower --pilot-schools or raise --schools")
    plan = pilot_plan.plan_pilot(
        schools=schools, pilot_schools=args.pilot_schools, pupils_per_school=v["pupils"],
        waves_before=args.waves_before, waves_after=args.waves_after, baseline=v["baseline"],
        school_sd=v["school_sd"], drift_sd=v["drift_sd"], wave_sd=v["wave_sd"],
        effect_points=args.effect, power=args.power, direction=args.direction,
        level=args.level, reps=args.reps, draws=args.draws, seed=args.seed)
    q = v["pupils_quantiles"]
    left = f", {len(v['left_out'])} schools left out ({args.leave_out})" if v["left_out"] else ""
    print(f"{column} in {path} ({v['schools']} schools, waves {v['waves'][0]}-"
          f"{v['waves'][-1]}{left})")
    print("variation used (estimated from the data; logit scale):")
    print(f"  baseline share ({v['baseline_wave']}):          {100 * v['baseline']:.1f} %")
    print(f"  between-school sd:              {v['school_sd']:.3f} "
          f"(latent ICC {v['icc_latent']:.3f})")
    print(f"  school drift sd per wave step:  {v['drift_sd']:.3f}")
    print(f"  school wave-to-wave sd:         {v['wave_sd']:.3f}")
    print(f"  pupils per school and wave:     median {v['pupils_median']:.0f} (10-90 %: "
          f"{q['q10']:.0f}-{q['q90']:.0f}; design effect of the weights {v['deff']:.2f})")
    print(f"  sampling sd of a school's share: {v['sampling_sd_points']:.1f} points")
    print(f"design: {plan.pilot_schools} pilot schools of {plan.schools} "
          f"({plan.comparison_schools} to compare with), {plan.waves_before} waves before the "
          f"start, {plan.waves_after} from it; test: {plan.method}, {plan.assignments:,} "
          f"assignments, level {plan.level:.0%}")
    cities = f"{plan.reps} simulated cities, seed {plan.seed}"
    if plan.note and plan.power == 0:
        print(f"power: 0 - {plan.note}")
    elif args.effect is not None:
        print(f"power for {plan.effect_points:+.1f} points: {100 * plan.power:.1f} % "
              f"(Monte Carlo error +/- {100 * plan.power_se:.1f}; {cities})")
    elif plan.mde_points is None:
        print(f"minimum detectable effect: none - {plan.note} ({cities})")
    else:
        se = f" +/- {plan.mde_se:.2f}" if plan.mde_se else ""
        print(f"minimum detectable effect at {plan.target_power:.0%} power: "
              f"{plan.effect_points:+.1f} points{se} (Monte Carlo error); power there "
              f"{100 * plan.power:.1f} % +/- {100 * plan.power_se:.1f} ({cities})")
    if args.assign:
        strata = None if args.strata in (None, "", "none") else args.strata
        table = pilot_plan.assign_pilot(data, args.pilot_schools, strata=strata,
                                        seed=args.seed)
        out = pilot_plan.write_assignment(table, args.assign)
        rec = table.attrs["assignment"]
        print(f"assignment: {out} (+ {out.with_suffix('.json').name}): "
              f"{', '.join(rec['pilot_schools'])} (seed {rec['seed']}, strata {strata})")
    print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


@command("pilot", "Plan a pilot: power or minimum detectable effect from the data's own "
                  "variation, and a seeded, stratified assignment of pilot schools")
def _add_pilot(p) -> None:
    p.add_argument("action", choices=["plan"], help="plan: power / MDE (and --assign)")
    p.add_argument("--data", default=None,
                   help="tidy data (default: data/synthetic/trondheim.parquet)")
    p.add_argument("--indicator", default="lonely",
                   help="indicator name from the codebook, or an ind_ column (default: lonely)")
    p.add_argument("--codebook", default="ungdata", help="codebook of --indicator (ungdata)")
    p.add_argument("--pilot-schools", type=int, required=True, help="pilot schools planned")
    p.add_argument("--schools", type=int, default=None,
                   help="schools in the evaluation, pilot ones included (default: the data's)")
    p.add_argument("--waves-before", type=int, default=2, help="waves before the start (2)")
    p.add_argument("--waves-after", type=int, default=2, help="waves from the start (2)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--effect", type=float, default=None, metavar="POINTS",
                      help="power for this effect in percentage points (e.g. -5)")
    what.add_argument("--power", type=float, default=0.8,
                      help="minimum detectable effect at this power (default: 0.8)")
    p.add_argument("--direction", choices=["down", "up"], default="down",
                   help="direction of the effect the MDE is searched in (default: down)")
    p.add_argument("--level", type=float, default=0.95, help="the evaluation's level (0.95)")
    p.add_argument("--reps", type=int, default=400,
                   help="simulated cities (default: 400; Monte Carlo error ~2 points)")
    p.add_argument("--draws", type=int, default=999,
                   help="random assignments of the test when it cannot enumerate all (999)")
    p.add_argument("--seed", type=int, default=20261214,
                   help="seed of the simulation and of the assignment (default: 20261214)")
    p.add_argument("--leave-out", default=None, metavar="COLUMN",
                   help="boolean column: leave those schools out of the variation, e.g. "
                        "pilot (an earlier pilot's effect would count as school variation)")
    p.add_argument("--assign", default=None, metavar="OUT.csv",
                   help="also draw the pilot schools (seeded) and write them here, with the "
                        "record beside it (OUT.json)")
    p.add_argument("--strata", default="district",
                   help="stratify the assignment by this column (default: district; none)")


def _run_clean(args) -> int:
    from ssp_research.data import clean, io

    survey = io.read_survey(args.input, sheet=_sheet(args.sheet), header_row=args.header_row)
    result = clean.apply(survey, args.codebook, strict=True if args.strict else None,
                         wave=args.wave)
    data_path, log_path = clean.write_clean(result, args.out)
    print(data_path)
    print(log_path)
    print(f"({result.rows_in} rows in, {len(result.data)} out; {len(result.log)} log entries)",
          file=sys.stderr)
    return 0


def _sheet(value: str | None) -> str | int | None:
    """``--sheet 2`` is the third sheet (0-based) unless a sheet is named "2"."""
    return int(value) if value is not None and value.isdigit() else value


def _add_reader_options(p) -> None:
    p.add_argument("--sheet", default=None,
                   help="Excel: the sheet to read, by name or 0-based number (default: the "
                        "first sheet with data)")
    p.add_argument("--header-row", type=int, default=None, metavar="N",
                   help="Excel/CSV: the row of the column names, counted from 1 as Excel shows "
                        "it (default: Excel detected past title rows and merged headers; CSV 1)")


@command("clean", "Clean a raw survey export with a codebook; write Parquet + log JSON")
def _add_clean(p) -> None:
    p.add_argument("input", help="raw export: .sav, .zsav, .por, .csv, .xlsx or .parquet")
    _add_reader_options(p)
    p.add_argument("--codebook", required=True, help="built-in codebook name or a .yml path")
    p.add_argument("--out", required=True, help="output .parquet (log beside it: .log.json)")
    p.add_argument("--strict", action="store_true",
                   help="codes outside the codebook are an error (default: the codebook's)")
    p.add_argument("--wave", type=int, default=None,
                   help="survey year of a one-wave export that has no wave column")


def _run_codebook(args) -> int:
    from ssp_research.core.errors import ParameterError
    from ssp_research.data import codebook, draft

    if args.action in ("draft", "check") and not args.target:
        raise ParameterError(f"'ssp codebook {args.action}' needs a file or codebook name",
                             hint=f"e.g. ssp codebook {args.action} "
                                  + ("export.sav > codebook.yml" if args.action == "draft"
                                     else "ungdata"))
    if args.action == "draft":
        sys.stdout.write(draft.draft_codebook(args.target, sheet=_sheet(args.sheet),
                                              header_row=args.header_row))
    elif args.action == "list":
        print("\n".join(codebook.list_codebooks()))
    else:
        cb = codebook.load_codebook(args.target)
        print(f"{cb.instrument} {cb.version}: {len(cb.items)} items, {len(cb.scales)} scales, "
              f"{len(cb.indicators)} indicators: OK")
    return 0


@command("codebook", "Draft a codebook from an SPSS file, list or check codebooks")
def _add_codebook(p) -> None:
    # one sub-parser per action, so that `ssp codebook draft --help` shows draft's own options
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    draft = actions.add_parser(
        "draft", help="draft a codebook (YAML, to stdout) from a survey export",
        description="Draft a codebook (YAML, written to stdout) from a survey export's "
                    "variable and value labels, missing codes and types. Review it: scales, "
                    "indicators and English labels are left for you to add.",
        epilog="example: ssp codebook draft export.sav > codebook.yml")
    draft.add_argument("target", nargs="?", default=None, metavar="FILE",
                       help="the export to draft from (.sav, .zsav, .por, .csv, .xlsx, "
                            ".parquet)")
    _add_reader_options(draft)
    actions.add_parser("list", help="list the built-in codebooks",
                       description="List the built-in codebooks by name.")
    check = actions.add_parser("check", help="load a codebook and report what it holds",
                               description="Load a codebook (built-in name or YAML path), "
                                           "validate it and count its items, scales and "
                                           "indicators.")
    check.add_argument("target", nargs="?", default=None, metavar="NAME_OR_PATH",
                       help="built-in codebook name or a .yml path")


def _rule_overrides(items: list[str]) -> dict:
    """``--rule NAME=NUMBER`` options as a dict of rule overrides."""
    from ssp_research.core.errors import ParameterError

    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError(item)
            overrides[key.strip()] = float(value) if "share" in key else int(value)
        except ValueError:
            raise ParameterError(f"bad rule override {item!r}", rule="NAME=NUMBER",
                                 hint="e.g. --rule min_n=30 --rule series_weak_share=0.5"
                                 ) from None
    return overrides


def _run_audit(args) -> int:
    from ssp_research import disclosure

    findings = disclosure.audit(args.path, disclosure.Rules.from_overrides(
                                    _rule_overrides(args.rule)),
                                ledger=args.ledger)
    print(disclosure.format_findings(findings))
    return 1 if findings else 0


@command("audit", "Audit briefs, notebooks and data files for small groups; exit 1 on findings")
def _add_audit(p) -> None:
    p.add_argument("path", help="a file or folder of outputs (HTML, .ipynb, CSV/Parquet/JSON)")
    p.add_argument("--rule", action="append", default=[], metavar="NAME=VALUE",
                   help="the publication's rule override (repeatable), e.g. --rule min_n=30")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the folder of the release ledgers: every table cell must be released "
                        "there, and not hidden")


def _split_pair(text: str, what: str):
    from ssp_research.core.errors import ParameterError

    if "=" not in text:
        raise ParameterError(f"{what} {text!r} is not COLUMN=VALUE", rule=f"--{what} COLUMN=VALUE",
                             hint=f'e.g. --{what} "school=Elvetun skole"')
    col, value = text.split("=", 1)
    return col.strip(), value.strip()


def _run_estimate(args) -> int:
    from pathlib import Path

    from ssp_research.analysis import indicators
    from ssp_research.core.errors import ParameterError
    from ssp_research.data import io

    data = io.read_survey(args.data).data
    by = [c.strip() for c in args.by.split(",") if c.strip()] if args.by else None
    unit = _split_pair(args.unit, "unit") if args.unit else (by[0] if by and len(by) == 1 else by)
    compare = args.compare
    reference = False
    if compare in (None, "none"):
        compare = None
    elif Path(compare).suffix.lower() in (".csv", ".parquet", ".xlsx"):
        compare = io.read_survey(compare).data
        reference = True
    elif "=" in compare:
        compare = _split_pair(compare, "compare")
    if not args.unprotected and compare not in (None, "city") and not reference:
        raise ParameterError(f"--compare {args.compare} cannot be released protected",
                             rule="protected tables compare with the city, published "
                             "reference figures or nothing",
                             hint="use --compare city or none (or --unprotected for internal "
                                  "work that is never published)")
    std = io.read_survey(args.standardise).data if args.standardise else None
    table = indicators.indicator_table(
        data, args.codebook, indicators=args.indicator or None, unit=unit, compare=compare,
        waves=args.wave or None, pool=args.pool, standardise=std,
    )
    if args.unprotected:
        print("ssp estimate: WARNING: --unprotected: this table is NOT protected; it is for "
              "internal work only, must never be published, and ssp audit rejects it",
              file=sys.stderr)
        table.insert(0, "internal_unprotected", True)
    else:
        from ssp_research.disclosure.release import release_table

        table = release_table(table, data, instrument=args.codebook, ledger_dir=args.ledger,
                              kind="estimate", what=f"ssp estimate --by {args.by or 'city'}")
    out = indicators.write_table(table, args.output, format=args.format)
    print(out if args.output else out.rstrip("\n"))
    return 0


@command("estimate", "Indicator table: unit vs comparison by wave, with CIs and tests")
def _add_estimate(p) -> None:
    p.add_argument("data", help="tidy survey data (.parquet, .csv, .sav, .xlsx)")
    p.add_argument("--indicator", action="append", default=[], metavar="NAME",
                   help="indicator name (repeatable; default: all of the codebook)")
    p.add_argument("--by", default=None, metavar="COLS",
                   help="unit level(s), comma-separated, e.g. school or district,gender "
                   "(default: the city)")
    p.add_argument("--unit", default=None, metavar="COLUMN=VALUE",
                   help='one unit instead of all of --by, e.g. "school=Elvetun skole"')
    p.add_argument("--compare", default="city",
                   help="city (default), a column (each unit's own group, e.g. district), "
                   "COLUMN=VALUE, a CSV of reference figures (indicator, wave, estimate[, se]) "
                   "or none")
    p.add_argument("--wave", action="append", type=int, default=[], help="wave (repeatable)")
    p.add_argument("--pool", type=int, default=1, help="rolling window of waves (default 1)")
    p.add_argument("--standardise", default=None, metavar="FILE",
                   help="standard population by grade x gender (columns grade, gender, pupils)")
    p.add_argument("--codebook", default="ungdata", help="codebook name or path")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--output", "-o", default=None, help="file to write (default: stdout)")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the release ledgers' folder (default: output/ledger or $SSP_LEDGER_DIR)")
    p.add_argument("--unprotected", action="store_true",
                   help="write the table WITHOUT disclosure control, for internal work only "
                        "(marked, refused by ssp audit, never recorded as released)")


def _run_framework(args) -> int:
    from ssp_research.analysis import frameworks

    if args.action == "list":
        for name in frameworks.list_frameworks():
            fw = frameworks.load_framework(name)
            print(f"{name}: {fw.title[args.lang]} ({len(fw.goals)} goals)")
        return 0
    if not args.name:
        from ssp_research.core.errors import ParameterError

        raise ParameterError(f"'{args.action}' needs a framework name or path",
                             hint="e.g. ssp framework show trondheim_ssp")
    fw = frameworks.load_framework(args.name)
    if args.action == "check":
        fw.validate_against(args.codebook)
        unmeasured = [g.id for g in fw.goals if not g.measured]
        print(f"{fw.name}: {len(fw.goals)} goals, {len(fw.indicators)} indicators, all in "
              f"codebook {args.codebook}; unmeasured goals: {', '.join(unmeasured) or 'none'}")
        return 0
    for goal in fw.goals:
        inds = ", ".join(goal.indicators) or "-"
        print(f"{goal.id}. {goal.title_in(args.lang)}\n   indicators: {inds}")
        if goal.unmeasured:
            print(f"   not measured: {goal.unmeasured_in(args.lang)}")
    return 0


@command("framework", "List, show or check strategy frameworks (goals -> indicators)")
def _add_framework(p) -> None:
    p.add_argument("action", choices=["list", "show", "check"],
                   help="list | show NAME_OR_PATH | check NAME_OR_PATH [--codebook C]")
    p.add_argument("name", nargs="?", default=None, help="framework name or YAML path")
    p.add_argument("--codebook", default="ungdata", help="codebook to check against")
    p.add_argument("--lang", choices=("nb", "en"), default="nb", help="language of titles")


def _run_glm(args) -> int:
    from ssp_research.analysis import indicators
    from ssp_research.core.errors import ParameterError
    from ssp_research.data import io
    from ssp_research.survey import SurveyDesign, svyglm

    def cols(text):
        return [c.strip() for c in text.split(",") if c.strip()] if text else None

    data = io.read_survey(args.data).data
    given = [f"--{name.replace('_', '-')}" for name in _GLM_DESIGN_OPTIONS
             if getattr(args, name) not in (None, False)]
    kind = args.design or ("columns" if given else "city")
    if given and kind != "columns":
        raise ParameterError(f"{', '.join(given)} describe a design; --design {kind} has its own",
                             rule="--design columns with --ids/--strata/--weights/--fpc",
                             hint=f"drop {', '.join(given)}, or use --design columns")
    if kind == "city":
        from ssp_research.core.errors import DataError

        try:
            design = indicators.city_design(data)
        except DataError as err:  # the CLI's way out, not the Python keyword
            raise DataError(f"{err.message}; ssp glm's default design is the city's",
                            file=args.data, column=err.column, rule=err.rule,
                            hint="rename the column, or choose the design: --design srs "
                            "(simple random sampling) or --ids/--strata/--weights") from err
    elif kind == "srs":
        import warnings

        with warnings.catch_warnings():  # equal probability is what --design srs asks for
            warnings.filterwarnings("ignore", "No weights or probabilities supplied")
            design = SurveyDesign(data)
    else:
        design = SurveyDesign(data, ids=cols(args.ids), strata=cols(args.strata),
                              weights=args.weights, fpc=cols(args.fpc), nest=args.nest,
                              lonely_psu=args.lonely_psu or "fail")
    if args.subset:
        col, value = _split_pair(args.subset, "subset")
        if col not in data.columns:
            raise ParameterError(f"unknown subset column {col!r}", column=col,
                                 rule="--subset COLUMN=VALUE", hint="check the column name")
        design = design.subset(data[col].astype(str) == value)
    if args.unprotected:
        print("ssp glm: WARNING: --unprotected: the model's cells are NOT checked; this table "
              "is for internal work only and ssp audit rejects it", file=sys.stderr)
    else:
        from ssp_research.disclosure.release import check_model_cells

        check_model_cells(design, args.formula)
    table = svyglm(design, args.formula, family=args.family)
    if args.unprotected:
        table.insert(0, "internal_unprotected", True)
    out = indicators.write_table(table, args.output, format=args.format)
    print(out if args.output else out.rstrip("\n"))
    return 0


#: the options that describe a design column by column (``--design columns``)
_GLM_DESIGN_OPTIONS = ("ids", "strata", "weights", "fpc", "nest", "lonely_psu")


@command("glm", "Design-based GLM (as R's svyglm): one row per term with t CIs")
def _add_glm(p) -> None:
    p.description = (
        "Fit a design-based GLM (R's svyglm). By default the design is the city's, as in the "
        "notebooks (ssp.city_design): schools x waves as strata, pupils as units, the 'weight' "
        "column, lonely strata adjusted; in R: svydesign(ids = ~1, strata = "
        "~interaction(wave, school), weights = ~weight). --design srs treats the respondents "
        "as a simple random sample (no strata, no weights); --design columns (implied by any "
        "of --ids, --strata, --weights, --fpc, --nest, --lonely-psu) builds the design from "
        "the columns named.")
    p.add_argument("data", help="tidy survey data (.parquet, .csv, .sav, .xlsx)")
    p.add_argument("formula", help='model, e.g. "ind_lonely ~ wave + gender + C(grade)"')
    p.add_argument("--family", default="gaussian",
                   choices=("gaussian", "quasibinomial", "binomial", "quasipoisson", "poisson"))
    p.add_argument("--design", default=None, choices=("city", "srs", "columns"),
                   help="city (default: needs the columns wave, school, weight), srs (simple "
                   "random sampling, unweighted) or columns (from the options below; implied "
                   "when one is given)")
    p.add_argument("--ids", default=None, help="cluster column(s), comma-separated per stage")
    p.add_argument("--strata", default=None, help="stratum column")
    p.add_argument("--weights", default=None, help="weight column (e.g. weight)")
    p.add_argument("--fpc", default=None, help="fpc column(s), comma-separated per stage")
    p.add_argument("--nest", action="store_true", help="cluster ids are reused across strata")
    p.add_argument("--lonely-psu", default=None,
                   choices=("fail", "remove", "certainty", "adjust", "average"),
                   help="strata with one cluster, for --design columns (default: fail)")
    p.add_argument("--subset", default=None, metavar="COLUMN=VALUE",
                   help='fit in one domain, e.g. "district=Heimdal"')
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--output", "-o", default=None, help="file to write (default: stdout)")
    p.add_argument("--unprotected", action="store_true",
                   help="skip the check that no factor level is a small group (internal work "
                        "only: marked, refused by ssp audit)")


def _run_batch(args) -> int:
    from ssp_research import batch, disclosure, render

    _use_ledger(args.ledger)
    template = Path(_template(args, render))
    base = render.parse_cli_parameters(template, args.param)
    for name, value in (("lang", args.lang), ("framework", args.framework)):
        if value is not None:
            base[name] = value
    from ssp_research.core import paths

    data = args.data or str(paths.in_project("data/synthetic/trondheim.parquet"))
    units = batch.plan_units(data, args.by, wave=args.wave, base_params=base)
    deps = [Path(v) for v in base.values() if isinstance(v, str) and Path(v).is_file()]
    out = Path(args.out) if args.out else batch.default_out_dir()
    summary = batch.run_batch(
        units, out, template=template, dependencies=deps, executor=args.executor,
        jobs=args.jobs, mode=args.mode, force=args.force,
        retry_failed=args.retry_failed, progress=not args.no_progress,
        prepare=lambda units, out_dir: batch.prepare_publication(
            units, out_dir, template=template, progress=not args.no_progress),
        audit=disclosure.audit,
    )
    print(f"{summary.ok} built, {summary.cached} cached, {summary.failed} failed "
          f"in {summary.seconds:.1f} s; manifest: {summary.manifest_path}")
    for rec in summary.records.values():
        if rec.get("status") == "failed":
            where = f" (cell {rec['cell']})" if rec.get("cell") is not None else ""
            print(f"  FAILED {rec['unit_type']} {rec['unit']}{where}: "
                  f"{str(rec.get('error', '')).splitlines()[0][:200]}", file=sys.stderr)
    return 1 if summary.failed else 0


@command("batch", "Briefs for every unit (school, district or municipality) plus the city")
def _add_batch(p) -> None:
    p.add_argument("--by", choices=["school", "district", "municipality"], default="school",
                   help="level of the units (default: school)")
    p.add_argument("--wave", type=int, default=None, help="survey wave (default: the latest)")
    p.add_argument("--framework", default=None, help="strategy framework (default: template's)")
    p.add_argument("--lang", choices=["nb", "en"], default=None, help="language (default: nb)")
    p.add_argument("--data", default=None,
                   help="tidy data (default: data/synthetic/trondheim.parquet)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--executor", default=None,
                   help="'local' (default) or dask://HOST:PORT for a Dask cluster")
    p.add_argument("--mode", choices=["fresh", "spawn"], default="fresh",
                   help="a fresh kernel per brief, forked from a preloaded template process "
                        "(default), or started from scratch (spawn)")
    p.add_argument("--force", action="store_true", help="ignore the cache, rebuild every brief")
    p.add_argument("--retry-failed", action="store_true",
                   help="rerun only the units that failed last time")
    p.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                   help="any other brief parameter for every unit (repeatable)")
    p.add_argument("--template", default=None, help="notebook template (default: evidence brief)")
    p.add_argument("--audience", choices=("adults", "pupils"), default="adults",
                   help="pupils: every unit's pupils' version (default: adults)")
    p.add_argument("--out", default=None, help="batch folder (default: output/batch)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the release ledgers' folder (default: output/ledger or $SSP_LEDGER_DIR)")


def _run_rerun(args) -> int:
    from ssp_research import render

    result = render.rerun(args.brief, out_dir=args.out, pdf=not args.no_pdf, data=args.data)
    diff = render.differences(args.brief, result.html_path)
    print(result.html_path)
    if diff:
        print("the reproduction differs from the original beyond timestamps:", file=sys.stderr)
        print("\n".join(diff[:60]), file=sys.stderr)
        return 1
    print("identical to the original except for timestamps", file=sys.stderr)
    return 0


@command("rerun", "Reproduce a brief from the provenance stamp inside it, and compare")
def _add_rerun(p) -> None:
    p.add_argument("brief", help="a published brief (.html)")
    p.add_argument("--out", default=None, help="output folder (default: output/rerun)")
    p.add_argument("--data", default=None,
                   help="the data file, when it is not where the brief names it (briefs name "
                        "data outside the project by file name only; its sha256 is checked)")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDF")


def _run_publication(args) -> int:
    import pyarrow.parquet as pq

    from ssp_research.core import paths
    from ssp_research.disclosure import cache, publication

    data = Path(args.data or paths.synthetic_dir() / "trondheim.parquet")
    rules = _rule_overrides(args.rule)
    municipalities = pq.read_table(data, columns=["municipality"]).column(
        "municipality").unique().to_pylist()
    national = len([m for m in municipalities if m is not None]) > 1
    top = "Norge" if national else str(municipalities[0])
    # the very table a batch builds and publishes (and records): ssp publication is a view
    built = cache.prepare_publication(
        data, Path(args.out).parent / ".ssp-publication" if args.out else
        paths.output_dir() / "cache", top_name=top, top_type="country" if national else "city",
        instrument=args.codebook, rules=rules or None, pool=args.pool, ledger_dir=args.ledger)
    table = publication.read_publication(built)
    meta = dict(table.attrs)
    if args.indicator:
        table = table[table["indicator"].isin(args.indicator)].reset_index(drop=True)
        table.attrs = meta
    out = args.out or paths.output_dir() / "publication" / "publication.parquet"
    print(publication.write_publication(table, out))
    print(f"({len(table)} rows, {int(table['suppressed'].sum())} suppressed; the same cells as "
          "a batch of briefs, recorded in the dataset's ledger)", file=sys.stderr)
    return 0


@command("publication", "Write the protected publication of a whole batch (all units at once)")
def _add_publication(p) -> None:
    p.add_argument("--data", default=None,
                   help="tidy data (default: data/synthetic/trondheim.parquet)")
    p.add_argument("--codebook", default="ungdata", help="instrument (default: ungdata)")
    p.add_argument("--indicator", action="append", default=[],
                   help="only these indicators' rows (repeatable; default: all)")
    p.add_argument("--pool", type=int, default=1, help="rolling waves (default: 1)")
    p.add_argument("--rule", action="append", default=[],
                   help="disclosure rule override, e.g. --rule min_n=30 (repeatable)")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the release ledgers' folder (default: output/ledger or $SSP_LEDGER_DIR)")
    p.add_argument("--out", default=None,
                   help="the .parquet (default: output/publication/publication.parquet)")


def _run_release(args) -> int:
    from ssp_research.core import paths

    if args.action == "list":
        import pyarrow.parquet as pq

        from ssp_research.data.codebook import load_codebook
        from ssp_research.disclosure.ledger import load_ledger

        data = Path(args.data or paths.synthetic_dir() / "trondheim.parquet")
        towns = [m for m in pq.read_table(data, columns=["municipality"]).column(
            "municipality").unique().to_pylist() if m is not None]
        top = "Norge" if len(towns) > 1 else str(towns[0])
        led = load_ledger(load_codebook(args.codebook).instrument, top, folder=args.ledger)
        print(f"{led.path}: {len(led.cells)} cells, "
              f"{sum(r['status'] == 'hidden' for r in led.cells.values())} hidden")
        for r in led.releases:
            print(f"{r['release']}  {r['time']}  {r['kind']:<12} {r['cells']:>6} new "
                  f"({r['hidden']} hidden), {r.get('seen', r['cells'])} in all  {r['what']}")
        return 0
    from ssp_research.disclosure.release_check import check_release

    data = Path(args.data or paths.synthetic_dir() / "trondheim.parquet")
    report = check_release(data, instrument=args.codebook, rules=_rule_overrides(args.rule),
                           pool=args.pool, ledger_dir=args.ledger, jobs=args.jobs,
                           progress=not args.no_progress)
    print(report.summary())
    if args.output:
        from ssp_research.core.atomic import atomic_write

        atomic_write(args.output, report.findings.to_csv(index=False))
        print(args.output)
    return 1 if report.blocking else 0


@command("release", "Release QA: what a new release changes against the ledger; list releases")
def _add_release(p) -> None:
    p.add_argument("action", choices=["check", "list"],
                   help="check: build the release a batch would make now (nothing recorded) "
                        "and list revised, newly hidden and jumping cells; exit 1 when "
                        "something must be decided | list: the releases in the ledger")
    p.add_argument("--data", default=None,
                   help="tidy data (default: data/synthetic/trondheim.parquet)")
    p.add_argument("--codebook", default="ungdata", help="instrument (default: ungdata)")
    p.add_argument("--pool", type=int, default=1, help="rolling waves (default: 1)")
    p.add_argument("--rule", action="append", default=[],
                   help="disclosure rule override, e.g. --rule min_n=30 (repeatable)")
    p.add_argument("--ledger", default=None, metavar="DIR",
                   help="the release ledgers' folder (default: output/ledger or $SSP_LEDGER_DIR)")
    p.add_argument("--jobs", type=int, default=1, help="processes for the protection")
    p.add_argument("--output", "-o", default=None, help="CSV of the findings (kind, key, detail)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


# ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ssp`` with all registered sub-commands."""
    parser = argparse.ArgumentParser(
        prog="ssp",
        description="SteinSaksPapir research workbench: clean surveys, estimate, protect, brief.",
    )
    parser.add_argument("--version", action="version", version=f"ssp_research {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_text, add, _run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ssp``; returns the exit status (0 ok, 1 findings/failures, 2 errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    _help, _add, run = COMMANDS[args.command]
    try:
        return int(run(args) or 0)
    except SSPError as err:
        print(f"ssp {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ssp {args.command}: interrupted", file=sys.stderr)
        return 130


def run() -> None:
    """The ``ssp`` command: :func:`main`, then exit with its status.

    It first puts off ``rfc3987_syntax``'s slow import (see
    :func:`ssp_research.core.lazy_imports.defer_rfc3987_syntax`): every brief imports nbformat;
    and pins the project it was started in (``$SSP_PROJECT_DIR``, see
    :func:`ssp_research.core.paths.pin_project_dir`) for the kernels and workers it starts.
    """
    from ssp_research.core import paths
    from ssp_research.core.lazy_imports import defer_rfc3987_syntax

    defer_rfc3987_syntax()
    paths.pin_project_dir()
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    run()
