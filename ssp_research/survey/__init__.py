"""Survey: designs, Taylor-linearised variance, estimators, weighting, models and tests.

In R's ``survey`` vocabulary: :class:`SurveyDesign` (``svydesign``) with ``.mean``,
``.total``, ``.proportion``, ``.ratio``, ``.quantile``, ``.glm`` ... and ``by=`` for domains.
Modules: :mod:`~ssp_research.survey.design`, :mod:`~ssp_research.survey.variance`
(``svyrecvar``), :mod:`~ssp_research.survey.estimate`, :mod:`~ssp_research.survey.domains`,
:mod:`~ssp_research.survey.ciprop` (``svyciprop``), :mod:`~ssp_research.survey.weights` and
:mod:`~ssp_research.survey.postcal` (post-stratification, raking, calibration),
:mod:`~ssp_research.survey.formula`, :mod:`~ssp_research.survey.models` (``svyglm``) and
:mod:`~ssp_research.survey.compare` (``svyttest``, ``svycontrast``, ``svychisq``) and
:mod:`~ssp_research.survey.termtest` (``regTermTest``).
"""

from __future__ import annotations

from ssp_research.survey.compare import svychisq, svycontrast, svyttest
from ssp_research.survey.design import SurveyDesign
from ssp_research.survey.models import svyglm
from ssp_research.survey.termtest import regtermtest
from ssp_research.survey.weights import calibrate, poststratify, rake

__all__ = ["SurveyDesign", "svyglm", "svyttest", "svycontrast", "svychisq", "regtermtest",
           "poststratify", "rake", "calibrate"]
