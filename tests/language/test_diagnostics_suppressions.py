"""`# edgec: ignore[rule-name]`: silences one named warning on its line (or the next code line
when the comment stands alone); unknown, unsuppressible and unused suppressions are reported."""
from __future__ import annotations

from edgec.pipeline import analyse


def lint(source: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in analyse(source, "t.edge", all_envs=True).diagnostics]


def with_unused_upstream(comment_line: str = "", trailing: str = "") -> str:
    return ('edge "x" {\n'
            '  upstream u {\n'
            '    server "127.0.0.1:9001"\n'
            '  }\n'
            + (f"  {comment_line}\n" if comment_line else "") +
            f'  upstream spare {{{trailing}\n'
            '    server "127.0.0.1:9002"\n'
            '  }\n'
            '  route r {\n'
            '    forward u\n'
            '  }\n'
            '}\n')


def test_without_a_suppression_the_warning_is_reported():
    assert lint(with_unused_upstream()) == [("W301", 5, 12)]


def test_a_trailing_suppression_silences_the_named_rule_on_its_line():
    assert lint(with_unused_upstream(trailing="  # edgec: ignore[unused-upstream]")) == []


def test_a_suppression_on_its_own_line_silences_the_next_code_line():
    assert lint(with_unused_upstream("# edgec: ignore[unused-upstream] kept for the migration")) == []


def test_several_rules_in_one_suppression():
    source = with_unused_upstream(trailing="  # edgec: ignore[unused-upstream, unused-auth]")
    assert lint(source) == [("W309", 5, 54)]


def test_a_suppression_silences_only_the_rule_it_names():
    assert lint(with_unused_upstream(trailing="  # edgec: ignore[unused-auth]")) == [("W301", 5, 12), ("W309", 5, 37)]


def test_a_suppression_silences_only_its_own_line():
    source = with_unused_upstream().replace('    forward u\n', '    forward u  # edgec: ignore[unused-upstream]\n')
    assert lint(source) == [("W301", 5, 12), ("W309", 9, 32)]


def test_an_unknown_rule_is_reported_with_the_closest_name():
    result = analyse(with_unused_upstream(trailing="  # edgec: ignore[unused-upstreams]"), "t.edge", all_envs=True)
    assert [(d.code, d.line, d.column) for d in result.diagnostics] == [("W301", 5, 12), ("W308", 5, 37)]
    assert result.diagnostics[1].hint == "did you mean 'unused-upstream'?"


def test_a_suppression_without_a_rule_name_is_reported():
    assert lint(with_unused_upstream(trailing="  # edgec: ignore")) == [("W301", 5, 12), ("W308", 5, 21)]


def test_errors_cannot_be_suppressed():
    source = ('edge "x" {\n  route r {\n    forward nowhere  # edgec: ignore[undefined-upstream]\n  }\n}\n')
    result = analyse(source, "t.edge", all_envs=True)
    assert [(d.code, d.line, d.column) for d in result.diagnostics] == [("E104", 3, 13), ("W308", 3, 38)]
    assert "cannot be suppressed" in result.diagnostics[1].message
    assert not result.ok


def test_a_suppression_that_silences_nothing_is_reported():
    source = with_unused_upstream().replace('    forward u\n', '    forward u  # edgec: ignore[unused-auth]\n')
    assert lint(source).count(("W309", 9, 32)) == 1


def test_the_text_output_names_the_rule_to_suppress_a_warning_with():
    from edgec.diagnostics import render_text
    source = with_unused_upstream()
    text = render_text(analyse(source, "t.edge", all_envs=True).diagnostics, {"t.edge": source})
    assert "# edgec: ignore[unused-upstream]" in text


def test_suppressions_in_strings_are_not_comments():
    source = with_unused_upstream().replace('    forward u\n',
                                            '    request_header set "X" "# edgec: ignore[unused-upstream]"\n'
                                            '    forward u\n')
    assert lint(source) == [("W301", 5, 12)]


def test_no_suppression_is_offered_for_a_warning_about_an_imported_file():
    from edgec.diagnostics import Span, diagnostic, render_text
    source = "http {\n  gzip on;\n}\n"
    found = diagnostic("W503", "`gzip` is not carried over", "site.conf", Span(2, 3, 2, 7))
    text = render_text([found], {"site.conf": source})
    assert "W503" in text and "edgec: ignore" not in text


def test_a_suppression_of_an_import_warning_says_why_it_cannot_work():
    result = analyse(with_unused_upstream(trailing="  # edgec: ignore[import-not-carried-over]"), "t.edge",
                     all_envs=True)
    assert [(d.code, d.line) for d in result.diagnostics] == [("W301", 5), ("W308", 5)]
    assert "configuration an import read" in result.diagnostics[1].hint
