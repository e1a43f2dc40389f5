#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages scanwall needs to build, run and test,
# only when some are missing. Sourced by demo.sh and test.sh.
set -euo pipefail

SCANWALL_PACKAGES=(
  pkg-config libpcap-dev                       # live capture and BPF (pcap crate)
  mesa-vulkan-drivers libvulkan1               # lavapipe: software Vulkan when no GPU
  libegl1 libegl-mesa0 libgl1-mesa-dri         # GL fallback
  libx11-6 libx11-xcb1 libxcursor1 libxi6 libxrandr2 libxkbcommon0 libxkbcommon-x11-0  # winit on X11
  xvfb x11-utils xdotool imagemagick evilwm    # window tests: virtual display, keys, screenshots, WM
  pmacct                                       # sFlow and NetFlow tests: a real exporter (pmacctd's sfprobe, nfprobe)
  softflowd nfdump                             # NetFlow test: a real exporter (softflowd -r), an independent collector (nfcapd, nfdump)
  iproute2 tcpreplay                           # live reopen test: a veth pair in a namespace, frames sent onto it
  dpkg-dev                                     # the Debian package: dpkg-shlibdeps finds its library dependencies
  adduser libcap2-bin man-db systemd jq        # package test: its postinst (adduser, setcap), getcap, man -w, systemd-analyze, JSON
)

missing=()
for p in "${SCANWALL_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing missing packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # The tests run pmacctd themselves; the package's own daemons (sfacctd holds
  # UDP 6343, pmacctd captures) would only get in the way.
  if [[ " ${missing[*]} " == *" pmacct "* ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now pmacctd nfacctd sfacctd uacctd >/dev/null 2>&1 || true
  fi
  # Likewise the NetFlow test runs softflowd and nfcapd itself.
  if [[ " ${missing[*]} " == *" softflowd "* || " ${missing[*]} " == *" nfdump "* ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now softflowd nfdump >/dev/null 2>&1 || true
  fi
fi
