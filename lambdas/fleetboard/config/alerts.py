"""[alerts]: when the board sends a message, and the [[alerts.channels]] it goes to.

The schema checks each key's type, form and range; this module checks what spans keys or
needs the rest of the file: 1 to 10 channels (none says how to turn alerts off), names
unique, `url_env` on a slack or webhook channel and not on an SNS one, and a variable's
name (its form is checked here so that a URL pasted into it is not quoted back), every
environment a channel names declared, no channel waiting at amber when neither amber
alerts nor forecasts are on, one sns channel at most, and reminders either off or at
least 5 minutes apart. The defaults are inventory.AlertSettings' and AlertChannel's, and
only theirs.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from fleetboard.config.messages import Problems, show, unknown_env
from fleetboard.inventory import AlertChannel, AlertSettings, Hold

#: The most channels: a pass delivers to each within its deadline. Past a few, fan out from
#: one of them instead (the SNS topic takes any number of subscriptions).
MAX_CHANNELS = 10
#: The shortest gap between reminders (0 turns them off). A reminder is there so a red that
#: nobody took up is not forgotten; one every minute or two is a drumbeat people mute.
MIN_REMIND_MINUTES = 5

#: What `url_env` may be: an environment variable's name. Checked here rather than by a schema
#: pattern, whose message quotes the value: a webhook URL pasted into it is a secret.
_VARIABLE = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
#: Characters no variable name has and every URL does: a value with one is not quoted back.
_URL_CHARACTERS = frozenset(":/.@?")

#: Channel kinds whose URL is a secret: read from `url_env` on a laptop (on Lambda, from
#: the stack's webhook secret under the channel's name).
_WEBHOOK_KINDS = ("slack", "webhook")


def alert_settings(
    raw: Mapping[str, Any] | None, declared_envs: Collection[str], problems: Problems
) -> AlertSettings | None:
    """The [alerts] table as settings; None without one, or when it has a problem (each is
    reported). `declared_envs` names every environment of the file, those left out for
    problems of their own too (a channel may still name them)."""
    if raw is None:
        return None
    before = len(problems.lines)
    specs: Sequence[Mapping[str, Any]] = raw.get("channels", [])
    _check_count(raw, specs, problems)
    # The scalar settings with the dataclass's defaults filled in (never a copy of them here).
    scalars = {k: v for k, v in raw.items() if k not in ("channels", "levels", "environments")}
    settings = AlertSettings(
        channels=(),
        levels={name: Hold(**spec) for name, spec in raw.get("levels", {}).items()},
        environments={name: Hold(**spec) for name, spec in raw.get("environments", {}).items()},
        **scalars,
    )
    for env in settings.environments:
        if env not in declared_envs:
            problems.add(f"alerts.environments.{env}", unknown_env(env, declared_envs))
    first_of: dict[str, int] = {}
    kinds_seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        where = f"alerts.channels.{i}"
        name = spec["name"]
        if name in first_of:
            problems.add(
                f"{where}.name",
                f"{show(name)} is already the name of alerts.channels.{first_of[name]}; give "
                "each channel its own (the page, the log and the webhook secret tell them "
                "apart by it)",
            )
        first_of.setdefault(name, i)
        _check_url_env(where, spec, problems)
        for env in spec.get("environments", ()):
            if env not in declared_envs:
                problems.add(f"{where}.environments", unknown_env(env, declared_envs))
        _check_levels(where, spec, settings, "amber" in raw, problems)
        if spec["kind"] == "sns" and "sns" in kinds_seen:
            problems.add(
                f"{where}.kind",
                f'"sns" again (alerts.channels.{kinds_seen["sns"]} is one): both publish to the '
                "stack's one topic, so every message would arrive twice; keep one sns channel",
            )
        kinds_seen.setdefault(spec["kind"], i)
    if 0 < settings.remind_minutes < MIN_REMIND_MINUTES:
        problems.add(
            "alerts.remind_minutes",
            f"{show(settings.remind_minutes)} reminds more often than every "
            f"{MIN_REMIND_MINUTES} minutes; give {MIN_REMIND_MINUTES} or more, or 0 for no "
            "reminders",
        )
    if len(problems.lines) > before:
        return None
    # The schema has checked every key and type; AlertChannel owns the defaults, so only
    # what the file says is passed on.
    return replace(settings, channels=tuple(AlertChannel(**_tuples(spec)) for spec in specs))


def _check_count(
    raw: Mapping[str, Any], specs: Sequence[Mapping[str, Any]], problems: Problems
) -> None:
    if not specs:
        shown = "missing" if "channels" not in raw else f"{show([])} is empty"
        problems.add(
            "alerts.channels",
            f'{shown}: no channel to send to; add a [[alerts.channels]] table (name = "oncall", '
            'kind = "sns", "slack" or "webhook"), or remove [alerts] to turn alerts off',
        )
    elif len(specs) > MAX_CHANNELS:
        problems.add(
            "alerts.channels",
            f"{len(specs)} channels; at most {MAX_CHANNELS}, as a pass sends to each within its "
            "deadline: fan out from one of them instead (the SNS topic takes any number of "
            "subscriptions)",
        )


def _check_url_env(where: str, spec: Mapping[str, Any], problems: Problems) -> None:
    kind = spec["kind"]
    url_env = spec.get("url_env")
    # The schema's name pattern makes this a variable name.
    example = show("FLEETBOARD_" + spec["name"].upper().replace("-", "_") + "_URL")
    if url_env is not None and not _VARIABLE.fullmatch(url_env):
        if _URL_CHARACTERS.intersection(url_env):
            problems.add(
                f"{where}.url_env",
                "looks like a URL (not repeated here: a webhook URL is a secret, never in "
                "fleet.toml); put the URL in an environment variable and give that variable's "
                f"name, e.g. url_env = {example}",
            )
        else:
            problems.add(
                f"{where}.url_env",
                f"{show(url_env)} is not an environment variable name such as {example} "
                "(upper-case letters, digits and '_', at most 64)",
            )
    elif kind in _WEBHOOK_KINDS and url_env is None:
        problems.add(
            f"{where}.url_env",
            f"missing: a {show(kind)} channel needs the environment variable that holds its "
            f"webhook URL on a laptop, e.g. url_env = {example} (the URL is a secret, never "
            f"in fleet.toml; on Lambda it is the webhook secret's key {show(spec['name'])})",
        )
    elif kind not in _WEBHOOK_KINDS and url_env is not None:
        problems.add(
            f"{where}.url_env",
            f"{show(url_env)} is for slack and webhook channels; an {show(kind)} channel "
            "publishes to the stack's own SNS topic, which needs no URL: remove url_env",
        )


def _check_levels(
    where: str,
    spec: Mapping[str, Any],
    settings: AlertSettings,
    amber_written: bool,
    problems: Problems,
) -> None:
    """Only levels the file writes: the default (every level) is fine whatever amber says.
    A forecast (a wallet running dry, a certificate near its line) is heard at amber, so
    "amber" is refused only when neither amber alerts nor forecasts are on."""
    levels = spec.get("levels", ())
    if "amber" in levels and not settings.amber and not settings.forecasts:
        said = "is false" if amber_written else "is false (the default)"
        problems.add(
            f"{where}.levels",
            f'{show(levels)} names "amber", but alerts.amber {said} and alerts.forecasts is '
            "false, so this channel would never hear anything at amber; set amber = true or "
            'forecasts = true in [alerts], or leave "amber" out of levels',
        )


def _tuples(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's table with its lists as tuples (the settings are frozen)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
