#!/usr/bin/env bash
# Installs every Debian package the project needs to build, test, run and benchmark.
# Idempotent: packages already present are skipped without touching the network.
set -euo pipefail

PACKAGES=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config clang-format
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-system1.81-dev
  libsqlite3-dev sqlite3 libjwt-dev libsodium-dev libspdlog-dev libfmt-dev libcli11-dev
  libmosquitto-dev libssl-dev libarchive-dev
  # worker host networking: netlink (links, addresses, routes, conntrack) and nftables (port
  # mappings, the overlay's NAT)
  libnl-3-dev libnl-route-3-dev libnl-nf-3-dev libnftables-dev
  # containerd client: HTTP/2 (nghttp2) and protobuf-lite messages generated from the packaged
  # containerd protos
  libnghttp2-dev libprotobuf-dev protobuf-compiler
  golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev
  golang-github-gogo-googleapis-dev
  # daemons started by integration tests
  mosquitto mosquitto-clients containerd runc qemu-system-x86
  # a local OCI registry and the tools that build and push the test image into it
  docker-registry skopeo umoci busybox-static
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev wrk
  # promtool checks the exported metrics and the alert rules; the server scrapes the daemons in
  # the metrics integration test
  prometheus
  # the web dashboard's browser tests (playwright-core drives it; it never downloads a browser)
  chromium
)

# The web dashboard is built with Node.js >= 20.19 and npm (Debian's nodejs 18 is too old for its
# build tools); its npm packages come from the npm registry in `make deps` (npm ci in web/).
node_ok() {
  command -v npm >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number);
           process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}
if ! node_ok; then
  echo "deps: Node.js >= 20.19 and npm are needed to build web/ (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
