#!/usr/bin/env bash
# Sixth device call (2026-11-30): the wall's whole CPU path per frame on a GPU,
# before and after the text layers were kept from frame to frame.
# render-old3: text prepared every frame; render-new3: kept layers, and the
# status line changing every frame in both. Both print
# the per-frame table and then the whole path (read six maps from two shards,
# paper scale, encode and submit).
cd "$(dirname "$0")/../../.."
B=.devbench6
ldconfig -p | grep -q libvulkan.so.1 || { for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; }
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p $XDG_RUNTIME_DIR
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=$PWD/$B/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; grep -m1 'model name' /proc/cpuinfo
for i in 1 2 3; do for b in old3 new3; do
  echo "== render-$b run $i"
  timeout 60 $B/render-$b --bench nothing-else 2>&1 | grep -E '^size|^1920|^3840|^per-frame|^whole'
done; done 2>&1 | tee $OUT/render-text-2.txt
