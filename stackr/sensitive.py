"""What stackr treats as a secret value, and how it keeps one out of what it shows and stores.

A value is secret when its name says so (an environment variable or label whose name contains
PASSWORD, SECRET, TOKEN, KEY, ...), when it holds a URL's password (`postgres://u:pw@db`), or
when it contains the value of a variable whose name says so (`AUTH: "Bearer ${API_TOKEN}"`)
or the content of a secret read from a file: `Stack.sensitive` holds those values. Plans,
`stackr config` and the `io.stackr.spec` label show such a value masked; the label keeps a
digest of it instead, so a plan still knows it changed. Pure.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE")
MASK = "***"
# How a masked value is stored in the `io.stackr.spec` label: a digest, never the value.
DIGEST_PREFIX = "masked:sha256:"
# A shorter value is too likely to occur by chance inside harmless values to be hunted for.
MIN_HUNTED = 6
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")


def secret_name(name: str) -> bool:
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def hunted_values(
    variables: Mapping[str, str], secret_sources: Iterable[str] = ()
) -> frozenset[str]:
    """The values of `variables` whose names look secret, or that a secret is made from
    (`secrets: {db: {environment: DBPW}}`), long enough to look for elsewhere."""
    sources = set(secret_sources)
    return frozenset(
        v for k, v in variables.items() if (secret_name(k) or k in sources) and len(v) >= MIN_HUNTED
    )


def hunted_contents(contents: Iterable[bytes]) -> frozenset[str]:
    """What to look for of secrets read from files: each one's text, and each of its lines
    (a container may print one line of a key file), where long enough. A secret that is not
    text cannot be found in text output anyway."""
    found: set[str] = set()
    for data in contents:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        found.update(
            part.strip() for part in (text, *text.splitlines()) if len(part.strip()) >= MIN_HUNTED
        )
    return frozenset(found)


def is_secret(name: str, value: str, sensitive: Iterable[str]) -> bool:
    """Whether `value`, set under `name`, must not be shown."""
    return (
        secret_name(name) or bool(_URL_PASSWORD.search(value)) or any(s in value for s in sensitive)
    )


def digest(value: str) -> str:
    return DIGEST_PREFIX + hashlib.sha256(value.encode()).hexdigest()[:16]


def is_digest(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(DIGEST_PREFIX)


def hide(text: str, sensitive: Iterable[str]) -> str:
    """`text` with every sensitive value and URL password in it replaced by `***`."""
    for value in sorted(sensitive, key=len, reverse=True):
        text = text.replace(value, MASK)
    return _URL_PASSWORD.sub(lambda m: m.group(0).rsplit(":", 1)[0] + f":{MASK}@", text)


def masked_spec(canonical: Mapping[str, Any], sensitive: Iterable[str]) -> dict[str, Any]:
    """A container's canonical spec fit to store in a label: secret values of its environment,
    labels, command, entrypoint, healthcheck test and log options replaced by digests."""
    hunted = tuple(sensitive)
    out = dict(canonical)
    for section in ("environment", "labels"):
        values = canonical.get(section) or {}
        out[section] = {
            k: digest(v) if isinstance(v, str) and is_secret(k, v, hunted) else v
            for k, v in values.items()
        }
    for section in ("command", "entrypoint"):
        items = canonical.get(section)
        if items is not None:
            out[section] = [digest(v) if is_secret("", v, hunted) else v for v in items]
    logging = canonical.get("logging")
    if isinstance(logging, Mapping):
        # `splunk-token`, `awslogs-credentials-endpoint`...: a log driver's options may hold one.
        options = logging.get("options") or {}
        masked = {
            k: digest(v) if isinstance(v, str) and is_secret(k, v, hunted) else v
            for k, v in options.items()
        }
        out["logging"] = {**logging, "options": masked}
    check = canonical.get("healthcheck")
    if isinstance(check, Mapping) and isinstance(check.get("test"), list | tuple):
        # `mysqladmin ping -p$${MYSQL_ROOT_PASSWORD}`: a probe's command may carry one too.
        test = [digest(v) if is_secret("", v, hunted) else v for v in check["test"]]
        out["healthcheck"] = {**check, "test": test}
    return out


def masked_settings(settings: Mapping[str, Any], sensitive: Iterable[str]) -> dict[str, Any]:
    """A network's or volume's options (`driver_opts`, `labels`), secret values replaced by
    digests, so a plan that names a changed option shows none (`driver_opts.password`)."""
    hunted = tuple(sensitive)
    out = dict(settings)
    for section in ("driver_opts", "labels"):
        values = settings.get(section)
        if isinstance(values, Mapping):
            out[section] = {
                k: digest(v) if isinstance(v, str) and is_secret(k, v, hunted) else v
                for k, v in values.items()
            }
    return out
