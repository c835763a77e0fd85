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


def test_a_boolean_made_from_variables_is_cast_as_compose_casts_it(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.spec import load_stack

    path = write_stack(
        "services:\n"
        "  db: {image: x}\n"
        "  web:\n"
        "    image: x\n"
        "    tty: ${TTY:-false}\n"
        "    read_only: ${RO}\n"
        "    environment: {FLAG: '${RO}'}\n"
        "    depends_on: {db: {condition: started, restart: '${R:-True}'}}\n"
        "    networks: [back]\n"
        "networks:\n  back: {internal: '${INTERNAL:-on}'}\n"
    )
    stack = load_stack([str(path)], profile="dev", env={"RO": "yes"})
    web = stack.services["web"]
    assert (web.runtime.tty, web.runtime.read_only) == (None, True)  # false is left out
    assert web.environment["FLAG"] == "yes"  # text where the file takes text
    assert web.depends_on[0].restart is True
    assert stack.networks["back"].internal is True


def test_a_flag_from_a_variable_that_reads_as_no_boolean_is_refused_where_written(
    write_stack,
) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import SpecError
    from stackr.spec import load_stack

    path = write_stack("services:\n  web:\n    image: x\n    privileged: ${P:-maybe}\n")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (4, "services.web.privileged")
    assert "may also give yes/no, on/off or y/n" in issue.hint


def test_a_yaml_11_word_written_in_the_file_is_told_to_be_true_or_false(write_stack) -> None:  # type: ignore[no-untyped-def]
    from stackr.errors import SpecError
    from stackr.spec import load_stack

    path = write_stack("services:\n  web:\n    image: x\n    privileged: 'Off'\n")
    with pytest.raises(SpecError) as caught:
        load_stack([str(path)], profile="dev", env={})
    (issue,) = caught.value.issues
    assert issue.hint == "write false: in the file only true and false are booleans"
