#!/usr/bin/env bash
# scripts/install.sh and scripts/uninstall.sh, staged under a temporary DESTDIR: files in place
# with the right modes, flags in the env file, the unit pointing at the binary; bad use refused;
# uninstall leaves nothing of ours.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

export DESTDIR="$stage" PREFIX=/usr/local BUILD_DIR="$1"

out=$("$repo/scripts/install.sh" worker --cluster http://10.0.0.1:10100 --token s3cret --name w7 --unikernel)
[[ "$out" == *"installed oakestra-worker"* ]] || fail "no confirmation: $out"
[[ -x "$stage/usr/local/lib/oakestra/oakestra" ]] || fail "binary missing"
[[ -f "$stage/usr/local/lib/oakestra/oakestra-containerd.so" ]] || fail "module missing"
[[ "$(readlink "$stage/usr/local/bin/oakestra")" == /usr/local/lib/oakestra/oakestra ]] || fail "link"
env="$stage/etc/oakestra/worker.env"
[[ "$(stat -c %a "$env")" == 600 ]] || fail "env file mode $(stat -c %a "$env") (holds the token)"
for line in OAKESTRA_CLUSTER=http://10.0.0.1:10100 OAKESTRA_TOKEN=s3cret OAKESTRA_WORKER_NAME=w7 \
            OAKESTRA_UNIKERNEL=true OAKESTRA_OVERLAY=true OAKESTRA_DATA_DIR=/var/lib/oakestra/worker; do
  grep -qx "$line" "$env" || fail "$line not in worker.env"
done
grep -q "^ExecStart=/usr/local/bin/oakestra worker$" "$stage/etc/systemd/system/oakestra-worker.service" \
  || fail "unit ExecStart"
grep -q "^EnvironmentFile=/etc/oakestra/worker.env$" "$stage/etc/systemd/system/oakestra-worker.service" \
  || fail "unit EnvironmentFile"

if "$repo/scripts/install.sh" worker --token x >/dev/null 2>&1; then fail "worker without --cluster accepted"; fi
if "$repo/scripts/install.sh" moon >/dev/null 2>&1; then fail "unknown role accepted"; fi
if BUILD_DIR="$stage/nothing" "$repo/scripts/install.sh" root >/dev/null 2>&1; then
  fail "install without built binaries accepted"
fi

"$repo/scripts/install.sh" root >/dev/null
[[ -f "$stage/etc/systemd/system/oakestra-root.service" ]] || fail "root unit"
"$repo/scripts/uninstall.sh" >/dev/null
left=$(find "$stage" -mindepth 1 -not -type d | head -5)
[[ -z "$left" ]] || fail "uninstall left: $left"
echo "install_test: ok"
