# shellcheck shell=bash
# ensure_venv: make sure the project's virtualenv exists with the package installed
# (editable, with the test extras). Sets $venv to its folder ($GITTASK_VENV or
# <repo>/.venv). Call it from the repository's root.

ensure_venv() {
    local root
    root=$(pwd)
    venv="${GITTASK_VENV:-$root/.venv}"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
}
