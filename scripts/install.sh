#!/usr/bin/env bash
# Installs oakestra on this machine as a systemd service of one role.
#
#   scripts/install.sh root
#   scripts/install.sh cluster --root http://ROOT:10000 --token <root's cluster token> [--name edge1]
#   scripts/install.sh worker --cluster http://CLUSTER:10100 --token <cluster's worker token> [--unikernel]
#
# Binaries (built with `make build`) go to $PREFIX/lib/oakestra (the runtime modules and the log
# driver must sit beside the binary) with links in $PREFIX/bin; the role's flags to
# /etc/oakestra/<role>.env; the unit to /etc/systemd/system. `oakestra doctor` checks the machine
# first. --no-start installs without starting (also what happens without systemd).
# DESTDIR stages everything under another root (packaging, tests).
set -euo pipefail

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

role="${1:-}"
case "$role" in root|cluster|worker) shift ;; -h|--help) usage 0 ;; *) usage ;; esac

PREFIX="${PREFIX:-/usr/local}"
DESTDIR="${DESTDIR:-}"
BUILD_DIR="${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/build/bin}"
start=1
env_lines=()
parent=""
doctor_flags=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) env_lines+=("OAKESTRA_ROOT=$2"); parent="$2"; shift 2 ;;
    --cluster) env_lines+=("OAKESTRA_CLUSTER=$2"); parent="$2"; shift 2 ;;
    --token) env_lines+=("OAKESTRA_TOKEN=$2"); shift 2 ;;
    --name) [[ "$role" == cluster ]] && env_lines+=("OAKESTRA_CLUSTER_NAME=$2") \
              || env_lines+=("OAKESTRA_WORKER_NAME=$2"); shift 2 ;;
    --unikernel) env_lines+=("OAKESTRA_UNIKERNEL=true"); doctor_flags+=(--unikernel); shift ;;
    --no-overlay) doctor_flags+=(--no-overlay); shift ;;
    --no-start) start=0; shift ;;
    *) echo "install.sh: unknown option $1" >&2; usage ;;
  esac
done
if [[ "$role" == cluster && -z "$parent" ]]; then echo "install.sh: cluster needs --root" >&2; exit 2; fi
if [[ "$role" == worker && -z "$parent" ]]; then echo "install.sh: worker needs --cluster" >&2; exit 2; fi
if [[ "$role" == worker ]]; then
  [[ " ${doctor_flags[*]-} " == *" --no-overlay "* ]] || env_lines+=("OAKESTRA_OVERLAY=true")
fi

for f in oakestra oak oakestra-logd oakestra-containerd.so oakestra-unikernel.so; do
  [[ -e "$BUILD_DIR/$f" ]] || { echo "install.sh: $BUILD_DIR/$f is missing: run make build" >&2; exit 1; }
done

if [[ -z "$DESTDIR" ]]; then
  args=("$role" "${doctor_flags[@]}")
  [[ -n "$parent" ]] && args+=(--parent "$parent")
  if ! "$BUILD_DIR/oakestra" doctor "${args[@]}"; then
    echo "install.sh: fix the problems above first (or install with DESTDIR to stage only)" >&2
    exit 1
  fi
fi

lib="$DESTDIR$PREFIX/lib/oakestra"
install -d -m 0755 "$lib" "$DESTDIR$PREFIX/bin" "$DESTDIR/etc/oakestra" "$DESTDIR/etc/systemd/system"
for f in oakestra oak oakestra-logd; do install -m 0755 "$BUILD_DIR/$f" "$lib/$f"; done
for f in oakestra-containerd.so oakestra-unikernel.so; do install -m 0644 "$BUILD_DIR/$f" "$lib/$f"; done
ln -sfn "$PREFIX/lib/oakestra/oakestra" "$DESTDIR$PREFIX/bin/oakestra"
ln -sfn "$PREFIX/lib/oakestra/oak" "$DESTDIR$PREFIX/bin/oak"

env_file="$DESTDIR/etc/oakestra/$role.env"
umask 077
{
  echo "# Flags of \`oakestra $role\` (see oakestra $role --help); restart the service after editing."
  echo "OAKESTRA_DATA_DIR=/var/lib/oakestra/$role"
  for line in "${env_lines[@]+"${env_lines[@]}"}"; do echo "$line"; done
} > "$env_file"
chmod 0600 "$env_file"
unit_src="$(cd "$(dirname "$0")/.." && pwd)/deploy/systemd/oakestra-$role.service"
sed "s|/usr/local/bin/oakestra|$PREFIX/bin/oakestra|" "$unit_src" > "$DESTDIR/etc/systemd/system/oakestra-$role.service"
chmod 0644 "$DESTDIR/etc/systemd/system/oakestra-$role.service"

if [[ $start -eq 1 && -z "$DESTDIR" ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
  systemctl enable --now "oakestra-$role.service"
  echo "oakestra-$role is running: journalctl -u oakestra-$role -f"
else
  echo "installed oakestra-$role; start it with: systemctl enable --now oakestra-$role"
fi
