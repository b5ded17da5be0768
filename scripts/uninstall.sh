#!/usr/bin/env bash
# Removes what scripts/install.sh installed: the services of every role, the binaries and the
# flag files. Data under /var/lib/oakestra stays unless --purge.
#
#   scripts/uninstall.sh [--purge]
set -euo pipefail

PREFIX="${PREFIX:-/usr/local}"
DESTDIR="${DESTDIR:-}"
purge=0
case "${1:-}" in --purge) purge=1 ;; "") ;; *) echo "usage: uninstall.sh [--purge]" >&2; exit 2 ;; esac

for role in worker cluster root; do
  unit="$DESTDIR/etc/systemd/system/oakestra-$role.service"
  [[ -e "$unit" ]] || continue
  if [[ -z "$DESTDIR" ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now "oakestra-$role.service" || true
  fi
  rm -f "$unit" "$DESTDIR/etc/oakestra/$role.env"
  echo "removed oakestra-$role"
done
rm -f "$DESTDIR$PREFIX/bin/oakestra" "$DESTDIR$PREFIX/bin/oak"
rm -rf "$DESTDIR$PREFIX/lib/oakestra"
rmdir "$DESTDIR/etc/oakestra" 2>/dev/null || true
if [[ -z "$DESTDIR" ]] && command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
fi
if [[ $purge -eq 1 ]]; then
  rm -rf "$DESTDIR/var/lib/oakestra"
  echo "removed /var/lib/oakestra"
fi
