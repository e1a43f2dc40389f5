#!/usr/bin/env bash
# Third device call: the window's CPU per frame after the upload change.
# render-old: the committed renderer (maps gathered into one staging vector,
# one write_texture); render-new: one write_texture per map straight from
# the frame; render-belt: a reused staging belt and copy_buffer_to_texture.
cd "$(dirname "$0")/.."
B=.devbench3
ldconfig -p | grep -q libvulkan.so.1 || { for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; }
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p $XDG_RUNTIME_DIR
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=$PWD/$B/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; grep -m1 'model name' /proc/cpuinfo
for i in 1 2 3; do for b in old new belt; do
  echo "== render-$b run $i"
  timeout 60 $B/render-$b --bench nothing-else 2>&1 | grep -E '^size|^1920|^3840|^per-frame'
done; done 2>&1 | tee $OUT/render-upload.txt
for i in 1 2; do
  echo "== frame CPU run $i"
  timeout 60 $B/throughput --bench frame --warm-up-time 1 --measurement-time 3 2>&1 | grep -E '^frame|time:'
done 2>&1 | tee $OUT/frame.txt
