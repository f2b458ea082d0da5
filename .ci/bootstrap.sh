# Sourced by ./run and ./test: pick a supported Python, make sure uv exists, and make the virtualenv
# match uv.lock exactly. Sets VENV (the virtualenv), PY (its python) and UV.
#
# Python: $OMNIHUB_PYTHON when set (a path or a command name, e.g. python3.12); otherwise the
# Python of an existing .venv when it is still supported; otherwise the first of python3.11,
# python3.12, python3.13 found, looking for each in /usr/bin and /usr/local/bin, then on PATH,
# then under pyenv ($PYENV_ROOT/versions, newest patch release first).
# Virtualenv: .venv by default; .venv-3.12 (etc.) for an OMNIHUB_PYTHON choice, so several
# versions can sit side by side (CI builds one per version). OMNIHUB_VENV overrides the path.
OMNIHUB_SUPPORTED_PYTHONS="3.11 3.12 3.13" # keep in step with requires-python in pyproject.toml

# Print "X.Y" for an interpreter that runs (a pyenv shim for a version that is not selected
# fails here, and so is skipped), nothing otherwise.
_omnihub_py_version() {
  "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true
}

_omnihub_py_supported() {
  case " $OMNIHUB_SUPPORTED_PYTHONS " in
    *" $1 "*) return 0 ;;
    *) return 1 ;;
  esac
}

# Print the path of a working, supported python for version $1 (X.Y), or return 1.
_omnihub_find_python() {
  local version="$1" candidate
  while IFS= read -r candidate; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] &&
      [ "$(_omnihub_py_version "$candidate")" = "$version" ]; then
      printf '%s\n' "$candidate"
      return 0
    fi
  done <<CANDIDATES
/usr/bin/python$version
/usr/local/bin/python$version
$(command -v "python$version" 2>/dev/null || true)
$(find "${PYENV_ROOT:-$HOME/.pyenv}/versions" -mindepth 1 -maxdepth 1 -name "$version.*" 2>/dev/null |
    grep -E "/$version\.[0-9]+$" | sort -rV | sed "s|\$|/bin/python$version|" || true)
CANDIDATES
  return 1
}

_omnihub_pick_python() {
  local version found
  if [ -n "${OMNIHUB_PYTHON:-}" ]; then
    found="$(command -v "$OMNIHUB_PYTHON" 2>/dev/null || true)"
    version=""
    if [ -n "$found" ]; then version="$(_omnihub_py_version "$found")"; fi
    if [ -z "$version" ]; then
      echo "OMNIHUB_PYTHON=$OMNIHUB_PYTHON does not run a Python (a pyenv shim runs only the" \
        "versions pyenv has selected: give the full path)." \
        "OmniHub supports Python $OMNIHUB_SUPPORTED_PYTHONS." >&2
      return 1
    fi
    if ! _omnihub_py_supported "$version"; then
      echo "OMNIHUB_PYTHON=$OMNIHUB_PYTHON is Python $version;" \
        "OmniHub supports Python $OMNIHUB_SUPPORTED_PYTHONS." >&2
      return 1
    fi
    printf '%s\n' "$found"
    return 0
  fi
  for version in $OMNIHUB_SUPPORTED_PYTHONS; do
    if _omnihub_find_python "$version"; then
      return 0
    fi
  done
  found="$(command -v python3 2>/dev/null || true)"
  version=""
  if [ -n "$found" ]; then version="$(_omnihub_py_version "$found")"; fi
  if [ -n "$version" ] && _omnihub_py_supported "$version"; then
    printf '%s\n' "$found"
    return 0
  fi
  echo "No supported Python found: OmniHub needs Python $OMNIHUB_SUPPORTED_PYTHONS (looked for" \
    "$(printf 'python%s ' $OMNIHUB_SUPPORTED_PYTHONS)in /usr/bin, /usr/local/bin, on PATH and" \
    "under ${PYENV_ROOT:-$HOME/.pyenv}/versions${version:+; python3 is $version})." \
    "Install one, or point OMNIHUB_PYTHON at it." >&2
  return 1
}

if [ -n "${OMNIHUB_PYTHON:-}" ]; then
  PYTHON_BIN="$(_omnihub_pick_python)" || return 1
  VENV="${OMNIHUB_VENV:-$PWD/.venv-$(_omnihub_py_version "$PYTHON_BIN")}"
else
  VENV="${OMNIHUB_VENV:-$PWD/.venv}"
  # An existing virtualenv on a supported Python is kept as it is: no rebuild because another
  # supported Python turned up on the machine.
  if [ -x "$VENV/bin/python" ] &&
    _omnihub_py_supported "$(_omnihub_py_version "$VENV/bin/python")"; then
    PYTHON_BIN="$VENV/bin/python"
  else
    PYTHON_BIN="$(_omnihub_pick_python)" || return 1
  fi
fi

if command -v uv >/dev/null 2>&1; then
  UV=uv
else
  # uv comes from PyPI into .tools/ when it is not on PATH.
  if [ ! -x .tools/bin/uv ]; then
    "$PYTHON_BIN" -m venv .tools
    .tools/bin/pip install --quiet "uv>=0.5"
  fi
  UV="$PWD/.tools/bin/uv"
fi
UV_PROJECT_ENVIRONMENT="$VENV" UV_PYTHON_DOWNLOADS=never \
  "$UV" sync --frozen --quiet --python "$PYTHON_BIN"
PY="$VENV/bin/python"
mkdir -p var
