#!/bin/sh
# Regenerate the committed vmlinux.h for this machine's architecture from the
# running kernel's BTF.  CO-RE relocations make the result usable on other
# kernels, so this only needs re-running to use types newer kernels added.
#   scripts/gen-vmlinux.sh [BTF_FILE]
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
arch=$(uname -m)
case "$arch" in
	aarch64) arch=arm64 ;;
esac
dir=$(dirname "$0")/../vmlinux/$arch
mkdir -p "$dir"
bpftool btf dump file "$btf" format c > "$dir/vmlinux.h.tmp"
mv "$dir/vmlinux.h.tmp" "$dir/vmlinux.h"
echo "wrote $dir/vmlinux.h from $btf ($(uname -r))"
