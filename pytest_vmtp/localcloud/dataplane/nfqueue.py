"""Packet delay without netem: NFQUEUE verdicts held back in a thread of the server.

Many kernels (this project's CI among them) are built without sch_netem, the usual way to
add latency; every one with netfilter has NFQUEUE. A packet an iptables rule sends to a
queue waits in the kernel until a program bound to that queue gives a verdict; this thread
gives ACCEPT `delay ± jitter` ms after the packet arrived. Only the packet id travels
(copy mode META), and GSO packets stay whole (F_GSO), so a 64 KB TCP burst costs one verdict.
The rules use --queue-bypass, so if this process dies the packets flow undelayed.

The netlink protocol is spoken directly (struct over an AF_NETLINK socket): the kernel ABI
is small and stable (linux/netfilter/nfnetlink_queue.h), and the Python bindings
(NetfilterQueue, fnfqueue) need a C toolchain and libnetfilter_queue at install time and
give a verdict per callback, which does not fit holding thousands of verdicts on a clock.
A netlink socket stays in the namespace it was made in, so one thread serves every queue
of every namespace.
"""

from __future__ import annotations

import heapq
import logging
import os
import random
import select
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from pytest_vmtp.measure.netns import entered_netns

NETLINK_NETFILTER = 12
SO_RCVBUFFORCE = 33
NFNL_SUBSYS_QUEUE = 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
NLMSG_ERROR = 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN, CFG_MASK, CFG_FLAGS = 1, 2, 3, 4, 5
CMD_BIND, CMD_UNBIND = 1, 2
COPY_META = 1
F_FAIL_OPEN, F_GSO = 1, 4
ATTR_PACKET_HDR, ATTR_VERDICT_HDR = 1, 2
NF_ACCEPT = 1
QUEUE_MAXLEN = 8192


def _attr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def message(msg: int, queue: int, attrs: bytes, seq: int = 0, flags: int = NLM_F_REQUEST
            ) -> bytes:
    """One nfnetlink queue message (netlink header, nfgenmsg, attributes)."""
    body = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + attrs
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msg, flags, seq,
                       0) + body


def bind_messages(queue: int) -> list[bytes]:
    """Bind a queue, metadata only, room for QUEUE_MAXLEN packets, GSO whole, fail open."""
    cmd = _attr(CFG_CMD, struct.pack("=BBH", CMD_BIND, 0, 0))
    params = _attr(CFG_PARAMS, struct.pack("!IB", 0, COPY_META))
    flags = F_GSO | F_FAIL_OPEN
    rest = (params + _attr(CFG_QUEUE_MAXLEN, struct.pack("!I", QUEUE_MAXLEN))
            + _attr(CFG_MASK, struct.pack("!I", flags)) + _attr(CFG_FLAGS, struct.pack("!I", flags)))
    return [message(MSG_CONFIG, queue, cmd, 1, NLM_F_REQUEST | NLM_F_ACK),
            message(MSG_CONFIG, queue, rest, 2, NLM_F_REQUEST | NLM_F_ACK)]


def unbind_message(queue: int) -> bytes:
    return message(MSG_CONFIG, queue, _attr(CFG_CMD, struct.pack("=BBH", CMD_UNBIND, 0, 0)))


def verdict_message(queue: int, packet_id: int) -> bytes:
    return message(MSG_VERDICT, queue, _attr(ATTR_VERDICT_HDR,
                                             struct.pack("!II", NF_ACCEPT, packet_id)))


def parse(buffer: bytes) -> Iterator[tuple[str, int, int]]:
    """("packet", queue, packet id) and ("error", seq, errno) of a received datagram."""
    offset = 0
    while offset + 16 <= len(buffer):
        length, kind, _flags, seq, _pid = struct.unpack_from("=IHHII", buffer, offset)
        if length < 16:
            return
        if kind == NLMSG_ERROR:
            (code,) = struct.unpack_from("=i", buffer, offset + 16)
            yield "error", seq, -code
        elif kind == (NFNL_SUBSYS_QUEUE << 8) | MSG_PACKET:
            (queue,) = struct.unpack_from("!H", buffer, offset + 18)
            at = offset + 20
            while at + 4 <= offset + length:
                alen, atype = struct.unpack_from("=HH", buffer, at)
                if alen < 4:
                    break
                if atype & 0x7FFF == ATTR_PACKET_HDR:
                    (packet_id,) = struct.unpack_from("!I", buffer, at + 4)
                    yield "packet", queue, packet_id
                    break
                at += (alen + 3) & ~3
        offset += (length + 3) & ~3


@dataclass
class _Namespace:
    sock: socket.socket
    queues: dict[int, tuple[float, float]] = field(default_factory=dict)  # ms delay, jitter


class Delayer:
    """Holds packets of bound queues for their delay; start() on first use, stop() at the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spaces: dict[str | None, _Namespace] = {}
        self._heap: list[tuple[float, int, str | None, int, int]] = []
        self._seq = 0
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, netns: str | None, queue: int, delay_ms: float, jitter_ms: float) -> None:
        """Bind queue in netns (or change its delay); OSError when the kernel refuses."""
        with self._lock:
            space = self._spaces.get(netns)
            if space is None:
                space = _Namespace(self._open(netns))
                self._spaces[netns] = space
            if queue not in space.queues:
                self._bind(space.sock, queue)
            space.queues[queue] = (delay_ms, jitter_ms)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nfqueue-delay",
                                                daemon=True)
                self._thread.start()
        os.write(self._wake_w, b"x")

    def remove(self, netns: str | None, queue: int) -> None:
        """Let the queue's held packets go at once and unbind it."""
        with self._lock:
            space = self._spaces.get(netns)
            if space is None or queue not in space.queues:
                return
            self._release(netns, queue)
            del space.queues[queue]
            try:
                space.sock.send(unbind_message(queue))
            except OSError:
                pass  # the namespace went away, and the queue with it
            if not space.queues:
                space.sock.close()
                del self._spaces[netns]
        os.write(self._wake_w, b"x")

    def forget(self, netns: str) -> None:
        """The namespace is gone (or going): drop its socket and its held packets."""
        with self._lock:
            space = self._spaces.pop(netns, None)
            self._heap = [h for h in self._heap if h[2] != netns]
            heapq.heapify(self._heap)
        if space is not None:
            space.sock.close()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            for netns in list(self._spaces):
                for queue in list(self._spaces[netns].queues):
                    self._release(netns, queue)
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(2.0)
        with self._lock:
            for space in self._spaces.values():
                space.sock.close()
            self._spaces.clear()

    # -- inside -------------------------------------------------------------------------------
    @staticmethod
    def _open(netns: str | None) -> socket.socket:
        with entered_netns(netns):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
        sock.bind((0, 0))
        return sock

    @staticmethod
    def _bind(sock: socket.socket, queue: int) -> None:
        """Bind synchronously (before the thread reads this socket for the queue)."""
        for msg in bind_messages(queue):
            sock.send(msg)
            deadline = time.monotonic() + 2.0
            while True:
                ready, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise OSError(f"no answer binding NFQUEUE {queue}")
                acks = [(s, code) for kind, s, code in parse(sock.recv(65536)) if kind == "error"]
                if any(code for _s, code in acks):
                    code = next(code for _s, code in acks if code)
                    raise OSError(code, f"binding NFQUEUE {queue}: {os.strerror(code)}")
                if acks:
                    break

    def _release(self, netns: str | None, queue: int) -> None:
        """Accept now every held packet of one queue (lock held)."""
        space = self._spaces[netns]
        keep, out = [], b""
        for item in self._heap:
            if item[2] == netns and item[3] == queue:
                out += verdict_message(queue, item[4])
            else:
                keep.append(item)
        self._heap = keep
        heapq.heapify(self._heap)
        if out:
            try:
                space.sock.send(out)
            except OSError:
                pass

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                socks = {s.sock.fileno(): (netns, s) for netns, s in self._spaces.items()}
                timeout = (max(0.0, self._heap[0][0] - time.monotonic()) if self._heap
                           else 1.0)
            try:
                ready, _, _ = select.select([self._wake_r, *socks], [], [], timeout)
            except (OSError, ValueError):
                continue  # a socket closed under us: look again
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)
            with self._lock:
                now = time.monotonic()
                for fd in ready:
                    if fd in socks and socks[fd][1] is self._spaces.get(socks[fd][0]):
                        self._receive(socks[fd][0], socks[fd][1], now)
                self._send_due(time.monotonic())

    def _receive(self, netns: str | None, space: _Namespace, now: float) -> None:
        for _ in range(256):
            try:
                data = space.sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError as exc:  # ENOBUFS: the kernel dropped messages; go on
                logging.warning("NFQUEUE in %s: %s", netns or "root", exc)
                return
            for kind, queue, packet_id in parse(data):
                if kind != "packet":
                    continue
                delay, jitter = space.queues.get(queue, (0.0, 0.0))
                wait = max(0.0, delay + random.uniform(-jitter, jitter)) / 1000.0
                self._seq += 1
                heapq.heappush(self._heap, (now + wait, self._seq, netns, queue, packet_id))

    def _send_due(self, now: float) -> None:
        out: dict[str | None, bytes] = {}
        while self._heap and self._heap[0][0] <= now:
            _due, _seq, netns, queue, packet_id = heapq.heappop(self._heap)
            out[netns] = out.get(netns, b"") + verdict_message(queue, packet_id)
        for netns, data in out.items():
            space = self._spaces.get(netns)
            if space is None:
                continue
            for start in range(0, len(data), 32768):  # whole messages: each is 32 bytes
                try:
                    space.sock.send(data[start:start + 32768])
                except OSError as exc:
                    logging.warning("NFQUEUE verdicts in %s: %s", netns or "root", exc)
                    break
