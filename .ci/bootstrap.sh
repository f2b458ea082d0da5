# Sourced by ./run and ./test: make sure uv exists and .venv matches uv.lock exactly.
# uv comes from PyPI into .tools/ when it is not on PATH; Python is the machine's 3.11.
VENV="$PWD/.venv"
if command -v uv >/dev/null 2>&1; then
  UV=uv
else
  if [ ! -x .tools/bin/uv ]; then
    python3 -m venv .tools
    .tools/bin/pip install --quiet "uv>=0.5"
  fi
  UV=.tools/bin/uv
fi
PYTHON_BIN="$(command -v python3.11 || command -v python3)"
"$UV" sync --frozen --quiet --python "$PYTHON_BIN"
PY="$VENV/bin/python"
mkdir -p var
