"""An openrc file's OpenStack variables (VMTP's -r), read the way a shell reads it: the file is
sourced by bash with a clean environment (PATH and HOME only), no input and its output
discarded, and the OS_* variables it exported are kept. So quoting, `$OTHER_VAR` expansions and
`export` forms all work as in the user's shell. Sourcing runs the file's commands, as `source
openrc` does: it is the user's own file. There is no password prompt: the `read -sr
OS_PASSWORD_INPUT` of a downloaded openrc reads nothing, and the password must come from the
environment (OS_PASSWORD) instead.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pytest_vmtp.user_error import UserError

# The file's stdout goes nowhere (its "Please enter your password" prompt); its stderr is kept
# for the error message; then the environment, NUL-separated, is the only output.
_SCRIPT = 'set -a; . "$1" >/dev/null </dev/null; status=$?; env -0; exit $status'
PASSWORD_VARS = ("OS_PASSWORD", "OS_TOKEN", "OS_APPLICATION_CREDENTIAL_SECRET")


class OpenrcError(UserError):
    """The openrc cannot be read; str() is the one line to show."""


def read_openrc(path: str | Path, timeout: float = 15.0) -> dict[str, str]:
    """The non-empty OS_* variables the openrc sets."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise OpenrcError(f"-r {p}: no such file")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")}
    try:
        res = subprocess.run(["bash", "--noprofile", "--norc", "-c", _SCRIPT, "openrc", str(p)], env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OpenrcError(f"-r {p}: sourcing it took more than {timeout:g} s (does it wait for input?)") from None
    variables = {}
    for item in res.stdout.split(b"\0"):
        name, sep, value = item.decode(errors="replace").partition("=")
        if sep and name.startswith("OS_") and value:
            variables[name] = value
    # A last command's failure is common (`[ -z "$X" ] && unset X`); a syntax error is not.
    lines = res.stderr.decode(errors="replace").strip().splitlines()
    if res.returncode != 0 and (not variables or any("syntax error" in line for line in lines)):
        why = next((line for line in lines if "syntax error" in line), lines[-1] if lines else f"exit {res.returncode}")
        raise OpenrcError(f"-r {p}: bash could not source it: {why}")
    if "OS_AUTH_URL" not in variables and "OS_CLOUD" not in variables:
        raise OpenrcError(f"-r {p}: it sets no OS_AUTH_URL (nor OS_CLOUD): is it an OpenStack openrc?")
    return variables
