"""Variable substitution, as in Compose."""

from __future__ import annotations

import pytest

from stackr.spec.template import Missing, substitute

ENV = {"TAG": "1.4", "EMPTY": "", "NAME": "shop"}


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("shop/web:${TAG}", "shop/web:1.4"),
        ("$TAG", "1.4"),
        ("${UNSET:-2.0}", "2.0"),
        ("${EMPTY:-fallback}", "fallback"),
        ("${EMPTY-fallback}", ""),
        ("${UNSET-fallback}", "fallback"),
        ("${UNSET:-${NAME:-x}}-web", "shop-web"),
        ("cost: $$5", "cost: $5"),
        ("$(hostname)", "$(hostname)"),
        ("${TAG:?tag needed}", "1.4"),
        # An alternative where the variable is set: `:+` also needs it not empty.
        ("${TAG:+--tag=${TAG}}", "--tag=1.4"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:+alt}", ""),
    ],
)
def test_substitute(text: str, result: str) -> None:
    assert substitute(text, ENV) == result


def test_required_variable_missing() -> None:
    with pytest.raises(Missing, match=r"tag needed \(\$\{UNSET\} is not set\)"):
        substitute("${UNSET:?tag needed}", ENV)


def test_required_empty_with_colon_is_missing() -> None:
    with pytest.raises(Missing):
        substitute("${EMPTY:?must be set}", ENV)


def test_unterminated_brace() -> None:
    with pytest.raises(Missing, match="unterminated"):
        substitute("${TAG:-x", ENV)


def test_a_required_variable_set_but_empty_is_said_to_be_empty() -> None:
    with pytest.raises(Missing, match=r"tag needed \(\$\{TAG\} is empty\)"):
        substitute("${TAG:?tag needed}", {"TAG": ""})
