"""802.1Q tagging by eBPF: a veth end that acts as a VLAN sub-interface's port on a trunk.

Why eBPF: the kernels this runs on may be built without 8021q (no `ip link add ... type
vlan`) and without VLAN-filtering bridges, but they all have tc's clsact hook and cls_bpf.
A "tag port" is a veth end enslaved to a trunk bridge (the physical network) with two tiny
programs, assembled here (no compiler needed):
  ingress (leaving the segment onto the trunk): push the segment's tag; untagged (flat) ports
           pass frames as they are;
  egress  (from the trunk into the segment): pass only frames of the segment's VLAN (tag
           popped) or, for a flat port, only untagged frames; drop the rest.
So every frame on the trunk carries its tag (as the kernel's VLAN metadata, which bridges
forward untouched and packet sockets report), and a segment never sees another's frames.
The programs live as long as the veth; nothing is pinned, nothing to clean up.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

from pyroute2.netlink.exceptions import NetlinkError

from .nl import DataplaneError, Session

# bpf(2) numbers of the architectures this project runs on.
_NR_BPF = {"x86_64": 321, "aarch64": 280}
_BPF_PROG_LOAD = 5
_BPF_PROG_TYPE_SCHED_CLS = 3
# struct __sk_buff offsets (include/uapi/linux/bpf.h: len, pkt_type, mark, queue_mapping,
# protocol, vlan_present, vlan_tci).
_VLAN_PRESENT, _VLAN_TCI = 20, 24
# Helpers (enum bpf_func_id) and tc verdicts.
_SKB_VLAN_PUSH, _SKB_VLAN_POP = 18, 19
_TC_ACT_OK, _TC_ACT_SHOT = 0, 2
_ETH_P_8021Q_BE = 0x0081  # htons(0x8100) as the helper's u16 argument on little-endian
_INGRESS, _EGRESS = "ffff:fff2", "ffff:fff3"  # clsact's two hooks
MAX_VID = 4094


def _insn(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", op, (src << 4) | dst, off, imm)


def _mov(dst: int, imm: int) -> bytes:
    return _insn(0xB7, dst, imm=imm)  # BPF_ALU64 | BPF_MOV | BPF_K


def _load_u32(dst: int, src: int, off: int) -> bytes:
    return _insn(0x61, dst, src, off)  # BPF_LDX | BPF_MEM | BPF_W


def _call(helper: int) -> bytes:
    return _insn(0x85, imm=helper)


_EXIT = _insn(0x95)
_PASS = [_mov(0, _TC_ACT_OK), _EXIT]
_DROP = [_mov(0, _TC_ACT_SHOT), _EXIT]


def push_program(vid: int) -> bytes:
    """Tag every frame with vid; drop it if the tag cannot be pushed (never leak it untagged)."""
    return b"".join([_mov(2, _ETH_P_8021Q_BE), _mov(3, vid), _call(_SKB_VLAN_PUSH),
                     _insn(0x55, 0, off=2, imm=0),  # if r0 != 0: drop
                     *_PASS, *_DROP])


def pop_program(vid: int | None) -> bytes:
    """vid: pass frames tagged vid, untagged; None (flat): pass untagged frames only."""
    if vid is None:
        return b"".join([_load_u32(2, 1, _VLAN_PRESENT),
                         _insn(0x55, 2, off=2, imm=0),  # tagged: drop
                         *_PASS, *_DROP])
    return b"".join([
        _insn(0xBF, 6, 1),  # r6 = ctx
        _load_u32(2, 1, _VLAN_PRESENT),
        _insn(0x15, 2, off=8, imm=0),  # untagged: drop
        _load_u32(2, 1, _VLAN_TCI),
        _insn(0x57, 2, imm=0xFFF),  # the VLAN id bits
        _insn(0x55, 2, off=5, imm=vid),  # another VLAN: drop
        _insn(0xBF, 1, 6),
        _call(_SKB_VLAN_POP),
        _insn(0x55, 0, off=2, imm=0),  # pop failed: drop
        *_PASS, *_DROP])


def load(code: bytes) -> int:
    """Load a sched_cls program; its file descriptor (DataplaneError with the verifier's log)."""
    nr = _NR_BPF.get(platform.machine())
    if nr is None:
        raise DataplaneError(f"VLAN tagging by eBPF: no bpf(2) number known for {platform.machine()}")
    libc = ctypes.CDLL(None, use_errno=True)
    insns = ctypes.create_string_buffer(code, len(code))
    license_ = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(16384)
    attr = ctypes.create_string_buffer(128)  # union bpf_attr, the fields after these zero
    struct.pack_into("<IIQQIIQ", attr, 0, _BPF_PROG_TYPE_SCHED_CLS, len(code) // 8,
                     ctypes.addressof(insns), ctypes.addressof(license_), 1, len(log),
                     ctypes.addressof(log))
    fd = libc.syscall(nr, _BPF_PROG_LOAD, attr, len(attr))
    if fd < 0:
        err = ctypes.get_errno()
        detail = log.value.decode(errors="replace").strip().splitlines()
        raise DataplaneError(f"loading a VLAN tagging program: {os.strerror(err)}"
                             + (f" ({detail[-1]})" if detail else ""))
    return int(fd)


def _attach(ns: Session, index: int, hook: str, code: bytes, name: str) -> None:
    fd = load(code)
    try:
        ns.ipr.tc("add-filter", "bpf", index, ":1", fd=fd, name=name, parent=hook, classid=1,
                  direct_action=True)
    finally:
        os.close(fd)  # the filter holds the program now


def make_tag_port(ns: Session, ifname: str, vid: int | None) -> None:
    """Turn the (trunk-side) veth end ifname into the port of VLAN vid (None: untagged/flat)."""
    if vid is not None and not 1 <= vid <= MAX_VID:
        raise DataplaneError(f"VLAN id {vid} out of range 1-{MAX_VID}")
    index = ns.must_index(ifname)
    try:
        ns.ipr.tc("add", "clsact", index)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise
        return  # programmed already (a retried call)
    if vid is not None:
        _attach(ns, index, _INGRESS, push_program(vid), f"vlan{vid}-push")
    _attach(ns, index, _EGRESS, pop_program(vid), f"vlan{vid or 0}-pop")
