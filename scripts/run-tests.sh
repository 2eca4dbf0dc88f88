#!/usr/bin/env bash
# Run the test suite. As root (CI, dev machines here) the whole run happens inside a private
# network namespace that has only a loopback interface: every server a test starts (ours, dcmtk
# storescp/dcmqrscp which cannot bind to one address, Orthanc, PostgreSQL) is unreachable from
# outside and can reach nothing but 127.0.0.1. DRIMBOX_TEST_NETNS=0 runs without it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/pytest "$@")
if [ "${DRIMBOX_TEST_NETNS:-1}" = "1" ] && [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null \
   && unshare --net true 2>/dev/null; then
  echo "tests: running in a private loopback-only network namespace"
  exec unshare --net --fork -- bash -c 'ip link set lo up && exec "$@"' _ "${PYTEST[@]}"
fi
exec "${PYTEST[@]}"
