/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Absolute paths from (dentry, vfsmount) without bpf_d_path(), which is only
 * allowed in fentry/LSM programs and those don't load on our target kernels.
 * We walk d_parent up to the mount root, hop to the parent mount, and stop at
 * the namespace root.  Names are written right to left into a scratch buffer
 * and then copied out in one read.
 */
#ifndef AW_PATH_BPF_H
#define AW_PATH_BPF_H

#include "agentwatch.h"

#define AW_PATH_DEPTH 128  /* components and mount hops we walk at most */

/* Scratch for one path: 2 * AW_PATH_MAX so that a name of up to PATH_MAX
 * bytes written at any offset below PATH_MAX stays inside the buffer, which
 * is what lets the verifier accept a masked variable offset. */
struct aw_pathbuf {
	char buf[2 * AW_PATH_MAX];
};

/* One slot per CPU, sized by the collector.  Tracepoint programs run with
 * preemption disabled, so a slot is never shared by two walks at once. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct aw_pathbuf);
} path_scratch SEC(".maps") __weak;

struct aw_walk {
	struct dentry *dentry;
	struct mount *mnt;
	struct dentry *mnt_root;  /* mnt's root, read once per mount, not per step */
	struct aw_pathbuf *pb;
	__u32 pos;        /* start of the path written so far in pb->buf */
	bool trunc;
};

/* One step up: a name, a mount hop, or the end.  Returns 1 to stop.  Run by
 * bpf_loop() so the verifier checks the body once, not once per level. */
static long aw_walk_step(__u32 i, struct aw_walk *w)
{
	struct dentry *dentry = w->dentry;
	struct mount *mnt = w->mnt;
	struct dentry *mnt_root = w->mnt_root;
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
	struct aw_pathbuf *pb = w->pb;
	struct qstr name;
	__u32 len, off;

	if (!pb)
		return 1;
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mparent = BPF_CORE_READ(mnt, mnt_parent);

		if (dentry != mnt_root || mparent == mnt)
			return 1; /* namespace root, or an unattached tree */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mparent;
		w->mnt_root = BPF_CORE_READ(mparent, mnt.mnt_root);
		return 0;
	}
	name = BPF_CORE_READ(dentry, d_name);
	len = name.len;
	if (len + 1 > w->pos) {
		w->trunc = true;
		return 1;
	}
	off = (w->pos - len - 1) & (AW_PATH_MAX - 1);
	bpf_probe_read_kernel(&pb->buf[off + 1], len & (AW_PATH_MAX - 1), name.name);
	pb->buf[off] = '/';
	w->pos = off;
	w->dentry = parent;
	if (i == AW_PATH_DEPTH - 1)
		w->trunc = true; /* still below the root after the last step */
	return 0;
}

/*
 * Write the absolute path of (dentry, vfsmnt) at dst (room for AW_PATH_MAX
 * bytes).  Returns the length including the NUL, or 0 if nothing usable was
 * found.  *trunc is set when the path was deeper or longer than we walk; the
 * result then holds the deepest components we did get.
 */
static __always_inline int aw_read_path(struct dentry *dentry, struct vfsmount *vfsmnt,
					char *dst, bool *trunc)
{
	struct aw_walk w = {
		.dentry = dentry,
		.mnt = container_of(vfsmnt, struct mount, mnt),
		.pos = AW_PATH_MAX - 1,
	};
	__u32 cpu = bpf_get_smp_processor_id();
	__u32 pos;

	w.pb = bpf_map_lookup_elem(&path_scratch, &cpu);
	if (!dentry || !vfsmnt || !w.pb)
		return 0;
	w.mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.pb->buf[AW_PATH_MAX - 1] = '\0';
	bpf_loop(AW_PATH_DEPTH, aw_walk_step, &w, 0);
	if (w.trunc)
		*trunc = true;
	pos = w.pos;
	if (pos == AW_PATH_MAX - 1) {
		pos = AW_PATH_MAX - 2;
		w.pb->buf[pos] = '/';
	}
	pos &= AW_PATH_MAX - 1;
	if (bpf_probe_read_kernel(dst, AW_PATH_MAX - pos, &w.pb->buf[pos]))
		return 0;
	return AW_PATH_MAX - pos;
}

/* The path of an open file descriptor of the current task, or 0. */
static __always_inline int aw_read_fd_path(int fd, char *dst, bool *trunc)
{
	struct file *f = aw_fd_file(fd);

	if (!f)
		return 0;
	return aw_read_path(BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt),
			    dst, trunc);
}

static __always_inline int aw_read_cwd(char *dst, bool *trunc)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();

	return aw_read_path(BPF_CORE_READ(t, fs, pwd.dentry), BPF_CORE_READ(t, fs, pwd.mnt),
			    dst, trunc);
}

#endif /* AW_PATH_BPF_H */
