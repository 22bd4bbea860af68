#!/usr/bin/env bash
# Installs the Debian packages Lantern needs, and nothing when they are already there.
#   scripts/debian-packages.sh runtime   what `npm start` needs (notebook instances: bubblewrap, Jupyter
#                                        server with nbclassic and a Python kernel, the science stack;
#                                        openssl for the certificates of Slurm jobs' relays)
#   scripts/debian-packages.sh wasm      clang and lld, which build packages/formats' C decoder to
#                                        WebAssembly (scripts/build-wasm.sh)
#   scripts/debian-packages.sh test      runtime + wasm (the test that rebuilds the committed
#                                        WebAssembly) + what the test suite needs (PostgreSQL,
#                                        Chromium, Ceph's mon, OSD and radosgw for the S3 object store,
#                                        script(1) for the CLI's terminal tests, Slurm and munge
#                                        for the Slurm backend, Jupyter for the notebooks it runs,
#                                        dcmtk's dcmdjpeg as the reference 12-bit JPEG decoder,
#                                        libjpeg-turbo's cjpeg for the streams the WebAssembly
#                                        decoder is checked on)
#   scripts/debian-packages.sh bench     test + the peers bench/formats, bench/ingest and bench/compute
#                                        measure against (configurable-http-proxy and wrk for compute;
#                                        dcmtk's headers and g++ to build bench/formats' decoding peer)
# Called by `npm start` and `npm test`; safe to run again. Installing needs root (or sudo).
set -euo pipefail

RUNTIME=(bubblewrap util-linux openssl python3 python3-jupyter-server python3-nbclassic
  python3-ipykernel python3-numpy python3-pandas python3-pydicom python3-gdcm python3-openslide
  python3-matplotlib python3-sklearn python3-scipy)
WASM=(clang lld)
TEST=("${RUNTIME[@]}" "${WASM[@]}" postgresql chromium libvips-tools python3-skimage ceph-mon ceph-osd
  radosgw bsdutils slurm-wlm munge dcmtk libjpeg-turbo-progs)
BENCH=("${TEST[@]}" libgdcm-tools openssl openslide-tools python3-pil node-configurable-http-proxy wrk
  libdcmtk-dev g++)

case "${1:-runtime}" in
runtime) WANT=("${RUNTIME[@]}") ;;
wasm) WANT=("${WASM[@]}") ;;
test) WANT=("${TEST[@]}") ;;
bench) WANT=("${BENCH[@]}") ;;
*) echo "usage: $0 runtime|wasm|test|bench" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "debian-packages: not a Debian system; install these yourself: ${WANT[*]}" >&2
  exit 0
fi

MISSING=()
for pkg in "${WANT[@]}"; do
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
    MISSING+=("$pkg")
  fi
done
[ ${#MISSING[@]} -eq 0 ] && exit 0

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "debian-packages: missing ${MISSING[*]}; as root run: apt-get install --no-install-recommends ${MISSING[*]}" >&2
    exit 1
  fi
fi

echo "debian-packages: installing ${MISSING[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -q >/dev/null
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${MISSING[@]}" >/dev/null
echo "debian-packages: done" >&2
