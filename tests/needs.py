"""Missing tools and data: a skip on a developer's machine, a failure under CI (``CI`` set), where set-up installs
everything, so a skip there would hide a broken install."""

import os

import pytest


def unavailable(msg: str) -> None:
    """Fail under CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(msg)
    pytest.skip(msg)


def need_simulator(name: str, hint: str) -> None:
    from rtl.verify.runner import available_simulators

    if name not in available_simulators():
        unavailable(f"{name} not available ({hint})")
