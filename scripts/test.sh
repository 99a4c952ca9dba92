#!/usr/bin/env bash
# Install everything the test suite needs, then run the whole suite.
# Used by the README and by .ci/run (CI runs it on a clean clone with ../shared beside it).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Microsoft's Kusto parser (Kusto.Language, npm build), used to validate emitted KQL.
if [ -f tests/node/package-lock.json ]; then
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
fi

# libmagic, which Splunk AppInspect (test extra, run on the generated Splunk app) loads.
if ! python3 -c "import magic" >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmagic1 >/dev/null) \
      || echo "warning: could not install libmagic1; the AppInspect test will fail" >&2
  else
    echo "warning: libmagic1 is not installed and this user cannot apt-get it" >&2
  fi
fi

# Headless Chromium, used to open the HTML report in a test.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "warning: could not install chromium; the HTML report test will fail" >&2
  else
    echo "warning: chromium is not installed and this user cannot apt-get it" >&2
  fi
fi

# Debian's python3.11 (the only Python 3 Debian 12 packages): the standalone modules eqlc writes
# claim the versions they are run on, and tests/test_standalone_module.py runs them with it.
if [ ! -x /usr/bin/python3.11 ]; then
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 >/dev/null) \
      || echo "warning: could not install python3.11; the standalone-module version test will fail" >&2
  else
    echo "warning: /usr/bin/python3.11 is missing and this user cannot apt-get it" >&2
  fi
fi

if [ ! -d ../shared/corpus/elastic-detection-rules ]; then
  echo "error: ../shared (the shared corpus and research material) must be beside the project" >&2
  exit 2
fi

exec python3 -m pytest -n 2 -q "$@"
