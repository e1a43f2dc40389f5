# Sourced by the device scripts beside it, with B set to the folder of
# prebuilt binaries (and their libraries in $B/lib): the NVIDIA Vulkan driver,
# the loader, a runtime dir, and what machine this is.
ldconfig -p | grep -q libvulkan.so.1 || { for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig; }
export XDG_RUNTIME_DIR=/tmp/xdg; mkdir -p $XDG_RUNTIME_DIR
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f $icd ] && export VK_DRIVER_FILES=$icd __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export LD_LIBRARY_PATH=$PWD/$B/lib
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nproc; grep -m1 'model name' /proc/cpuinfo
