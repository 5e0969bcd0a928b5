# shellcheck shell=bash
# ensure_venv: make sure the project's virtualenv exists with the package installed
# (editable, with the test extras). Sets $venv to its folder ($GITTASK_VENV or
# <repo>/.venv). Call it from the repository's root.
# editable_mode=compat: a plain path in a .pth file, as cheap at start-up as a normal
# install (setuptools' default editable finder adds ~9 ms to every command).

ensure_venv() {
    local root
    root=$(pwd)
    venv="${GITTASK_VENV:-$root/.venv}"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv"
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]" \
        --config-settings editable_mode=compat
}
