"""rfc3987_syntax (0.7 s to import, through nbformat and jsonschema) loads only when used."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("rfc3987_syntax")


def test_rfc3987_syntax_loads_on_first_use_and_validates_as_before():
    code = textwrap.dedent("""\
        import sys
        from ssp_research.core.lazy_imports import defer_rfc3987_syntax
        defer_rfc3987_syntax()  # as the ssp command and the batch workers do
        import nbformat
        from ssp_research.render import runner  # imports nbformat, jsonschema
        assert "lark" not in sys.modules, "rfc3987_syntax was imported eagerly"
        nbformat.validate(nbformat.v4.new_notebook())
        from jsonschema import FormatChecker
        check = FormatChecker()
        print(check.conforms("https://example.org/kunnskapsgrunnlag/æøå", "iri"),
              check.conforms("not an iri", "iri"),
              check.conforms("#frag", "iri-reference"),
              type(sys.modules["rfc3987_syntax"].RFC3987_SYNTAX_TERMS).__name__)
        """)
    out = subprocess.run([sys.executable, "-c", code],
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False", "True", "list"]
