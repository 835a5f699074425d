#!/bin/sh
# Install patternkg into a virtualenv and check it runs: the install steps of the
# Containerfile (which RUNs this script), also run by tests/deploy/test_container.py.
#   PATTERNKG_SRC   the source tree to install        (default: /src)
#   PATTERNKG_HOME  the virtualenv to create           (default: /opt/patternkg)
#   PATTERNKG_DATA  where the seed library is built    (default: /srv/patternkg)
set -eu
SRC="${PATTERNKG_SRC:-/src}"
HOME_DIR="${PATTERNKG_HOME:-/opt/patternkg}"
DATA="${PATTERNKG_DATA:-/srv/patternkg}"
python3 -m venv "$HOME_DIR"
"$HOME_DIR/bin/pip" install --no-cache-dir --disable-pip-version-check --quiet "$SRC"
"$HOME_DIR/bin/patternkg" --version
# a first library so that the image serves something; mount a volume over $DATA/store for yours
mkdir -p "$DATA"
"$HOME_DIR/bin/patternkg" build --store "$DATA/store" --quiet
"$HOME_DIR/bin/patternkg" serve --store "$DATA/store" --get '/sparql?query=ASK%7B%3Fs%20%3Fp%20%3Fo%7D'
