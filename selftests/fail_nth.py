#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Systematic allocation faults for module_faults.sh (the kernel's
fault injection: /proc/thread-self/fail-nth, failslab and fail_page_alloc
limited by their stack filter to allocations made from module code).

Attempt n makes the n-th such allocation of one step fail, for n = 1, 2,
... until a step runs without reaching its n-th allocation.  A step that
fails must change nothing; one that succeeds in spite of the fault must
leave what a run without faults leaves.

  fail_nth.py load KO
      the step: finit_module(KO).  A failed load leaves no module, no
      /sys/kernel/kapolicy, and exactly one "kapolicy:" line in the log,
      saying "not loading".
  fail_nth.py write [--pre CMD]... --cmd CMD [--undo CMD]... [--abort CMD]...
      the step: CMD written to control after the --pre commands (written
      without faults, on the same file).  A failed step returns ENOMEM and,
      after the --abort commands, the policies are what they were; a
      successful one leaves what the reference run (no fault) left, and
      the --undo commands restore the start.

Prints one line per attempt and a summary line:
  attempts N injected N refused N absorbed N bad N
and exits 1 if any attempt was bad (each is described on stderr).
"""
import argparse
import ctypes
import errno
import os
import subprocess
import sys

SYSFS = "/sys/kernel/kapolicy"
CONTROL = SYSFS + "/control"
libc = ctypes.CDLL(None, use_errno=True)
SYS_finit_module = 313
SYS_delete_module = 176


class FailNth:
    def __init__(self):
        self.fd = os.open("/proc/thread-self/fail-nth", os.O_RDWR)

    def arm(self, n):
        os.pwrite(self.fd, b"%d" % n, 0)

    def disarm(self):
        """Disarms; True if the fault was injected since arm()."""
        left = int(os.pread(self.fd, 32, 0).decode().strip() or "0")
        os.pwrite(self.fd, b"0", 0)
        return left == 0


def policies():
    """The policies as the surface lists them: (order, name, spec)."""
    d = SYSFS + "/policies"
    out = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name, "spec")) as f:
            spec = f.read().strip()
        with open(os.path.join(d, name, "order")) as f:
            order = int(f.read())
        out.append((order, name, spec))
    return sorted(out)


def kmsg_lines():
    return subprocess.run(["dmesg"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def run_load(ko):
    fd = os.open(ko, os.O_RDONLY)
    fnth = FailNth()
    stats = dict(attempts=0, injected=0, refused=0, absorbed=0, bad=0)
    n = 0
    while True:
        n += 1
        if n > 100000:
            raise SystemExit("fail_nth: no end to the load's allocations")
        before = len(kmsg_lines())
        fnth.arm(n)
        rc = libc.syscall(SYS_finit_module, fd, b"", 0)
        err = ctypes.get_errno()
        injected = fnth.disarm()
        stats["attempts"] += 1
        stats["injected"] += injected
        new = kmsg_lines()[before:]
        ours = [ln for ln in new if "kapolicy: " in ln and
                "taints kernel" not in ln and "verification failed" not in ln]
        why = None
        if rc == 0:
            if not os.path.isdir(SYSFS):
                why = "loaded without %s" % SYSFS
            if libc.syscall(SYS_delete_module, b"kapolicy", os.O_NONBLOCK) != 0:
                why = "rmmod failed: %s" % os.strerror(ctypes.get_errno())
            if injected:
                stats["absorbed"] += 1
        else:
            stats["refused"] += 1
            if not injected:
                why = "load failed (%s) with no fault injected" % os.strerror(err)
            elif os.path.exists("/sys/module/kapolicy") or os.path.exists(SYSFS):
                why = "a failed load left the module or its sysfs directory"
            elif len(ours) != 1 or "not loading" not in ours[0]:
                why = "the log has not one clear line: %r" % ours
        print("load n=%d %s%s: %s" % (n, "ok" if rc == 0 else
                                      os.strerror(err),
                                      " (fault injected)" if injected else "",
                                      ours[-1].split("] ", 1)[-1] if ours else "-"))
        if why:
            stats["bad"] += 1
            print("fail_nth: load n=%d: %s" % (n, why), file=sys.stderr)
        if not injected:
            return stats


def write(fd, cmd):
    try:
        os.write(fd, cmd.encode())
        return 0
    except OSError as e:
        return e.errno


def run_write(pre, cmd, undo, abort):
    fnth = FailNth()
    start = policies()

    def step(n):
        fd = os.open(CONTROL, os.O_WRONLY)
        try:
            for c in pre:
                e = write(fd, c)
                if e:
                    raise SystemExit("fail_nth: %r: %s" % (c, os.strerror(e)))
            if n:
                fnth.arm(n)
            e = write(fd, cmd)
            injected = fnth.disarm() if n else False
            after = policies()
            if e:
                for c in abort:
                    a = write(fd, c)
                    if a:
                        raise SystemExit("fail_nth: %r: %s" % (c, os.strerror(a)))
                after = policies()
            else:
                for c in undo:
                    u = write(fd, c)
                    if u:
                        raise SystemExit("fail_nth: %r: %s" % (c, os.strerror(u)))
        finally:
            os.close(fd)
        return e, injected, after

    e, _, reference = step(0)
    if e:
        raise SystemExit("fail_nth: %r fails without a fault: %s" % (cmd, os.strerror(e)))
    if policies() != start:
        raise SystemExit("fail_nth: the --undo commands do not restore the policies")
    stats = dict(attempts=0, injected=0, refused=0, absorbed=0, bad=0)
    n = 0
    while True:
        n += 1
        if n > 100000:
            raise SystemExit("fail_nth: no end to %r's allocations" % cmd)
        e, injected, after = step(n)
        stats["attempts"] += 1
        stats["injected"] += injected
        why = None
        if e:
            stats["refused"] += 1
            if e != errno.ENOMEM:
                why = "failed with %s, not ENOMEM" % os.strerror(e)
            elif not injected:
                why = "failed with no fault injected"
            elif after != start:
                why = "failed and changed the policies: %r -> %r" % (start, after)
        else:
            stats["absorbed"] += injected
            if after != reference:
                why = "succeeded but the policies differ from a run without faults: %r, not %r" % (after, reference)
        if policies() != start:
            why = "the policies are not back to the start"
        print("%s n=%d %s%s" % (cmd.split()[0], n, os.strerror(e) if e else "ok",
                                " (fault injected)" if injected else ""))
        if why:
            stats["bad"] += 1
            print("fail_nth: %r n=%d: %s" % (cmd, n, why), file=sys.stderr)
        if not injected:
            return stats


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="what", required=True)
    ld = sub.add_parser("load")
    ld.add_argument("ko")
    wr = sub.add_parser("write")
    wr.add_argument("--pre", action="append", default=[])
    wr.add_argument("--cmd", required=True)
    wr.add_argument("--undo", action="append", default=[])
    wr.add_argument("--abort", action="append", default=[])
    a = ap.parse_args()
    if a.what == "load":
        stats = run_load(a.ko)
    else:
        stats = run_write(a.pre, a.cmd, a.undo, a.abort)
    print(" ".join("%s %d" % kv for kv in stats.items()))
    return 1 if stats["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
