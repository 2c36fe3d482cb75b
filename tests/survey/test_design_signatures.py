"""SurveyDesign's methods show their whole interface: typed signatures without ``**kwargs``
forwarding, the same parameters and defaults as the functions they call, the allowed values
as ``Literal`` types equal to the modules' constants, and numpydoc docstrings with every
parameter documented, a Returns section and an example (numpydoc's own validator)."""

from __future__ import annotations

import inspect
import typing

import pytest
from numpydoc.validate import validate

from ssp_research.survey import compare, estimate, models, quantiles, weights
from ssp_research.survey.design import LONELY_PSU_OPTIONS, SurveyDesign

#: Each method and the function it calls (the design is the function's first argument).
DELEGATES = {
    "mean": estimate.mean,
    "total": estimate.total,
    "proportion": estimate.proportion,
    "ratio": estimate.ratio,
    "quantile": quantiles.quantile,
    "poststratify": weights.poststratify,
    "rake": weights.rake,
    "calibrate": weights.calibrate,
    "glm": models.svyglm,
    "ttest": compare.svyttest,
    "contrast": compare.svycontrast,
    "chisq": compare.svychisq,
}

PUBLIC = sorted(n for n, v in vars(SurveyDesign).items()
                if not n.startswith("_") and (callable(v) or isinstance(v, property)))

def _params(func, skip: int) -> list[inspect.Parameter]:
    return list(inspect.signature(func).parameters.values())[skip:]


def test_the_methods_list_is_what_the_tests_cover():
    assert set(DELEGATES) <= set(PUBLIC)
    assert len(PUBLIC) >= 19, PUBLIC


@pytest.mark.parametrize("name", sorted(DELEGATES))
def test_a_method_has_the_parameters_and_defaults_of_its_function(name):
    method = _params(getattr(SurveyDesign, name), 1)  # without self
    function = _params(DELEGATES[name], 1)  # without design
    assert [p.name for p in method] == [p.name for p in function]
    for m, f in zip(method, function):
        if m.default is not inspect.Parameter.empty:
            assert m.default == f.default, f"{name}({m.name}=) differs from the function"


@pytest.mark.parametrize("name", PUBLIC)
def test_no_method_hides_its_parameters_behind_kwargs(name):
    obj = getattr(SurveyDesign, name)
    if isinstance(obj, property):
        return
    kinds = {p.kind for p in _params(obj, 1)}
    if name == "assign":  # new columns by name, as pandas.DataFrame.assign
        assert kinds == {inspect.Parameter.VAR_KEYWORD}
        return
    assert inspect.Parameter.VAR_KEYWORD not in kinds
    assert inspect.Parameter.VAR_POSITIONAL not in kinds


@pytest.mark.parametrize("name", [*PUBLIC, "__init__"])
def test_every_parameter_and_return_is_typed(name):
    obj = getattr(SurveyDesign, name)
    func = obj.fget if isinstance(obj, property) else obj
    hints = typing.get_type_hints(func)  # resolves: every annotation names a real type
    params = [p.name for p in _params(func, 1)]
    untyped = [p for p in params if p not in hints]
    assert not untyped, f"{name}: untyped parameters {untyped}"
    assert "return" in hints


def _literal(name: str, param: str) -> tuple:
    hint = typing.get_type_hints(getattr(SurveyDesign, name))[param]
    assert typing.get_origin(hint) is typing.Literal, f"{name}({param}=) is not a Literal"
    return typing.get_args(hint)


def test_the_literal_choices_are_the_modules_constants():
    assert set(_literal("proportion", "method")) == set(estimate.PROPORTION_METHODS)
    assert set(_literal("quantile", "qrule")) == set(quantiles.QUANTILE_RULES)
    assert set(_literal("quantile", "interval_type")) == set(quantiles.INTERVAL_TYPES)
    assert set(_literal("glm", "family")) == set(models.FAMILIES)
    assert set(_literal("calibrate", "calfun")) == set(weights.CALFUNS)
    assert set(_literal("__init__", "lonely_psu")) == set(LONELY_PSU_OPTIONS)
    for name in ("mean", "total", "ratio"):
        assert set(_literal(name, "ci_df")) == {"normal", "design"}
    assert set(_literal("chisq", "statistic")) == {"F", "Chisq"}
    assert set(_literal("contrast", "statistic")) == {"mean", "total"}


#: numpydoc validation codes that must not occur: a missing docstring, a parameter not
#: documented or documented but not in the signature, parameter types and descriptions
#: missing, no Returns section, no Examples section.
REQUIRED = {"GL08", "PR01", "PR02", "PR03", "PR04", "PR07", "RT01", "RT03", "EX01"}


@pytest.mark.parametrize("name", PUBLIC)
def test_the_docstring_documents_every_parameter_and_has_an_example(name):
    result = validate(f"ssp_research.survey.design.SurveyDesign.{name}")
    errors = [(code, msg) for code, msg in result["errors"] if code in REQUIRED]
    assert not errors, f"SurveyDesign.{name}: {errors}"


def test_the_class_docstring_documents_the_constructor():
    result = validate("ssp_research.survey.design.SurveyDesign")
    assert not [e for e in result["errors"] if e[0] in REQUIRED], result["errors"]
