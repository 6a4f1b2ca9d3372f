#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Random writes to /sys/kernel/kapolicy/control, each judged.

  control_fuzz.py [--writes N] [--seed S] [--max-policies M] [--port P]
                  [--cgroup ID]... [--gone-cgroup ID]... [--netns COOKIE]...

N writes (default 100000), one command per write(2), mostly on one open
file, sometimes on a fresh one: valid commands (add, del, flush, move,
begin, commit, abort), malformed ones (one defect each: unknown or
repeated key, a number out of range, a reversed range, a bad name, a line
over 1024 bytes, a NUL, a control byte, trailing words, nothing), valid
ones cut at a random byte, token soup and random bytes.  Now and then a
forked writer opens a transaction, stages policies and is SIGKILLed (or
exits) before commit.

Each write is judged against an independent reading of the ABI
(sysfs/ABI/sysfs-kernel-kapolicy, the control entry), not against the
module's parser:
  - a reference parser says whether the line is a command and, if not,
    which errors its defects allow (EINVAL, ERANGE);
  - a model of the table (and of this process's transaction) says what a
    command does: OK, EEXIST, ENOENT, ENOSPC (max_policies: at add, or in a
    transaction at add or at commit), EBUSY (another process's
    transaction; begin inside one's own);
  - malformed lines are also declared by the generator: one it made
    malformed must be refused with the declared errno.
Any other outcome is unexpected.  Every 5000 writes and at the end the
live table (policies/*/order and spec) must equal the model's: names,
order and the canonical spec (keys in fixed order, mode always present).

The --cgroup ids name cgroups that exist throughout, --gone-cgroup ids
ones that do not (any other cgroup id may or may not exist).  Prints the
seed first ("# control_fuzz: seed S": --seed S replays the same writes,
given the same arguments), progress as "# " lines on stderr (--kmsg: in
the kernel log too), and a JSON summary on stdout: outcomes by kind of
write, the killed writers, the table checks, the unexpected outcomes
(the first 20 with their command).  Exit status 1 if anything was
unexpected.
"""
import argparse
import errno
import json
import os
import random
import signal
import sys
import time

CONTROL = '/sys/kernel/kapolicy/control'
POLICIES = '/sys/kernel/kapolicy/policies'
LINE_MAX = 1024
PAGE = 4096             # what one write(2) to a sysfs file passes on
MAX_WORDS = 18          # more is refused whole (no command has over 14)
U64_MAX = (1 << 64) - 1

KEYS = ['family', 'lport', 'rport', 'cgroup', 'netns', 'idle', 'intvl',
        'cnt', 'user_timeout', 'keepalive', 'mode', 'order']
ACTIONS = ['idle', 'intvl', 'cnt', 'user_timeout', 'keepalive']
RANGES = {'idle': (1, 32767), 'intvl': (1, 32767), 'cnt': (1, 127),
          'user_timeout': (1, 2147483647), 'cgroup': (1, U64_MAX),
          'netns': (1, U64_MAX), 'order': (0, 65535)}
NAME_CHARS = set(b'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
                 b'0123456789_-')
OPS = {'add': -1, 'del': 1, 'flush': 0, 'move': 2, 'begin': 0,
       'commit': 0, 'abort': 0}


# ---- the reference parser --------------------------------------------------

class Refused(Exception):
    pass


def number(s, lo, hi):
    """A decimal number in [lo, hi]: the value, or 'EINVAL' / 'ERANGE'."""
    if not s or any(c < 0x30 or c > 0x39 for c in s):
        return 'EINVAL'
    v = int(s)
    return v if lo <= v <= hi else 'ERANGE'


def ports(s):
    """P or P-Q: (lo, hi) or the set of errors its defects allow."""
    i = s.find(b'-')
    if i < 0:
        v = number(s, 1, 65535)
        return (v, v) if isinstance(v, int) else {v}
    a, b = number(s[:i], 1, 65535), number(s[i + 1:], 1, 65535)
    errs = {x for x in (a, b) if isinstance(x, str)}
    if errs:
        # reversed as well, if both are numbers at all
        ra, rb = s[:i], s[i + 1:]
        if (ra.isdigit() and rb.isdigit() and ra and rb and
                int(ra) > int(rb)):
            errs.add('EINVAL')
        return errs
    return (a, b) if a <= b else {'EINVAL'}


def name_ok(w):
    return 1 <= len(w) <= 31 and all(c in NAME_CHARS for c in w)


def parse_spec(words):
    """KEY=VALUE words: (spec dict, set of errors); errors empty if valid."""
    spec, errs = {}, set()
    for w in words:
        i = w.find(b'=')
        if i <= 0:
            errs.add('EINVAL')
            continue
        k, v = w[:i].decode('latin-1'), w[i + 1:]
        if k not in KEYS:
            errs.add('EINVAL')
            continue
        if k in spec:
            errs.add('EINVAL')
            continue
        spec[k] = None      # given, even if its value is bad
        if not v:
            errs.add('EINVAL')
            continue
        if k == 'family':
            val = int(v) if v in (b'4', b'6') else 'EINVAL'
        elif k in ('lport', 'rport'):
            val = ports(v)
            if isinstance(val, set):
                errs |= val
                continue
        elif k == 'user_timeout' and v == b'auto':
            val = 'auto'
        elif k == 'keepalive':
            val = 'on' if v == b'on' else 'EINVAL'
        elif k == 'mode':
            val = v.decode() if v in (b'fill', b'override') else 'EINVAL'
        else:
            val = number(v, *RANGES[k])
        if isinstance(val, str) and val in ('EINVAL', 'ERANGE'):
            errs.add(val)
            continue
        spec[k] = val
    if not any(k in spec for k in ACTIONS):
        errs.add('EINVAL')
    return spec, errs


def parse(data):
    """A write's bytes as the module gets them: ('ok', command) or
    ('err', set of the errnos its defects allow)."""
    data = data[:PAGE]
    if len(data) > LINE_MAX:
        return 'err', {'EINVAL'}
    if data.endswith(b'\n'):
        data = data[:-1]
    if any(c < 0x20 and c != 9 or c >= 0x7f for c in data):
        return 'err', {'EINVAL'}
    words = data.replace(b'\t', b' ').split()
    if not words or len(words) > MAX_WORDS:
        return 'err', {'EINVAL'}
    op = words[0].decode('latin-1')
    if op not in OPS:
        return 'err', {'EINVAL'}
    nargs, args = OPS[op], words[1:]
    if nargs >= 0 and len(args) != nargs or nargs < 0 and not args:
        return 'err', {'EINVAL'}
    cmd, errs = {'op': op}, set()
    if args:
        if not name_ok(args[0]):
            errs.add('EINVAL')
        cmd['name'] = args[0].decode('latin-1')
    if op == 'add':
        cmd['spec'], e = parse_spec(args[1:])
        errs |= e
    elif op == 'move':
        pos = number(args[1], 0, 65535)
        if isinstance(pos, str):
            errs.add(pos)
        cmd['pos'] = pos
    return ('err', errs) if errs else ('ok', cmd)


def canonical(spec):
    """The spec as policies/NAME/spec shows it."""
    out = []
    for k in KEYS[:-1]:
        if k == 'mode':
            out.append('mode=' + spec.get('mode', 'fill'))
        elif k in spec:
            v = spec[k]
            if k in ('lport', 'rport'):
                v = '%d' % v[0] if v[0] == v[1] else '%d-%d' % v
            out.append('%s=%s' % (k, v))
    return ' '.join(out)


# ---- the model ------------------------------------------------------------

class Model:
    def __init__(self, max_policies, cgroups, gone):
        self.max = max_policies
        self.cgroups, self.gone = cgroups, gone
        self.live = []          # [(name, canonical spec)], in match order
        self.txn = None         # this process's staged table, if open
        self.other = False      # another process holds a transaction

    def predict(self, cmd):
        """(allowed outcomes, function applying the command's success)."""
        op = cmd['op']
        if self.other:
            return {'EBUSY'}, None
        if op == 'begin':
            if self.txn is not None:
                return {'EBUSY'}, None
            return {'OK'}, lambda: setattr(self, 'txn', list(self.live))
        if op in ('commit', 'abort'):
            if self.txn is None:
                return {'ENOENT'}, None
            if op == 'commit' and len(self.txn) > self.max:
                # what a transaction staged beyond max_policies (see add)
                # cannot be committed; nothing changes
                return {'ENOSPC'}, None

            def end():
                if op == 'commit':
                    self.live = self.txn
                self.txn = None
            return {'OK'}, end
        t = self.txn if self.txn is not None else self.live
        names = [n for n, _ in t]
        if op == 'flush':
            return {'OK'}, t.clear
        name = cmd['name']
        if op in ('del', 'move'):
            if name not in names:
                return {'ENOENT'}, None
            i = names.index(name)

            def change():
                p = t.pop(i)
                if op == 'move':
                    t.insert(min(cmd['pos'], len(t)), p)
            return {'OK'}, change
        spec = cmd['spec']
        errs, maybe = set(), set()
        if name in names:
            errs.add('EEXIST')
        if len(t) >= self.max:
            # A transaction may stage more than max_policies (the module
            # leaves it room for as many again as the live table holds):
            # the limit is then enforced at commit.
            (maybe if self.txn is not None else errs).add('ENOSPC')
        if 'cgroup' in spec:
            if spec['cgroup'] in self.gone:
                errs.add('ENOENT')
            elif spec['cgroup'] not in self.cgroups:
                maybe.add('ENOENT')     # no telling whether it exists
        if errs:
            return errs | maybe, None

        def add():
            at = min(spec.get('order', len(t)), len(t))
            t.insert(at, (name, canonical(spec)))
        return {'OK'} | maybe, add


# ---- the generator ----------------------------------------------------------

class Gen:
    def __init__(self, r, a):
        self.r = r
        self.port = a.port
        self.cgroups = a.cgroup or []
        self.gone = a.gone_cgroup or []
        self.netns = a.netns or []
        pool = ['p%d' % i for i in range(int(a.max_policies * 1.5))]
        pool += ['A-b_9', 'x' * 31, '0', '-', '_', 'Z' * 30 + '-']
        self.names = pool
        self.in_txn = False     # whether our transaction is open

    def name(self):
        return self.r.choice(self.names)

    def num(self, v):
        """v in decimal, now and then with leading zeros."""
        return ('0' * self.r.randint(1, 3) if self.r.random() < 0.05 else '') + str(v)

    def bound(self, lo, hi):
        x = self.r.random()
        if x < 0.1:
            return lo
        if x < 0.2:
            return hi
        return self.r.randint(lo, min(hi, lo + 1000) if x < 0.8 else hi)

    def portrange(self):
        r, p = self.r, self.port
        x = r.random()
        if x < 0.3:
            return self.num(p)
        if x < 0.5:
            lo, hi = r.randint(1, p), r.randint(p, 65535)
        elif x < 0.6:
            lo, hi = 1, 65535
        elif x < 0.8:
            lo = r.randint(1, 65535)
            hi = lo if r.random() < 0.3 else r.randint(lo, 65535)
        else:
            lo = r.randint(1, 65535)
            return self.num(lo)
        return '%s-%s' % (self.num(lo), self.num(hi))

    def spec_words(self):
        r, w = self.r, []
        if r.random() < 0.3:
            w.append('lport=' + self.portrange())
        if r.random() < 0.3:
            w.append('rport=' + self.portrange())
        if r.random() < 0.1 and self.cgroups:
            w.append('cgroup=' + self.num(r.choice(self.cgroups)))
        if r.random() < 0.15:
            c = r.choice(self.netns) if self.netns and r.random() < 0.8 else \
                r.choice([1, U64_MAX, r.randint(1, U64_MAX)])
            w.append('netns=' + self.num(c))
        if r.random() < 0.2:
            w.append('family=' + r.choice('46'))
        acts = [k for k in ACTIONS if r.random() < 0.35] or [r.choice(ACTIONS)]
        for k in acts:
            if k == 'keepalive':
                w.append('keepalive=on')
            elif k == 'user_timeout' and r.random() < 0.3:
                w.append('user_timeout=auto')
            else:
                w.append('%s=%s' % (k, self.num(self.bound(*RANGES[k]))))
        if r.random() < 0.5:
            w.append('mode=' + r.choice(['fill', 'override']))
        if r.random() < 0.2:
            w.append('order=' + self.num(r.randint(0, 300) if r.random() < 0.9
                                         else r.randint(0, 65535)))
        r.shuffle(w)
        return w

    def join(self, words):
        r = self.r
        seps = [' ', ' ', ' ', '\t', '  ', ' \t']
        s = words[0] + ''.join(r.choice(seps) + w for w in words[1:])
        if r.random() < 0.05:
            s = r.choice(seps) + s
        if r.random() < 0.05:
            s += r.choice(seps)
        if r.random() < 0.7:
            s += '\n'
        return s.encode()

    def valid_words(self):
        # Mostly inside a transaction: a change of the live table costs two
        # RCU grace periods and a walk of the connections, a staged one
        # nothing, and a commit changes the live table all at once.
        r = self.r
        x = r.random()
        if not self.in_txn and x < 0.1:
            return ['begin']
        if not self.in_txn and x < 0.11:
            return [r.choice(['commit', 'abort'])]
        if self.in_txn and x < 0.02:
            return [r.choice(['commit', 'commit', 'abort', 'begin'])]
        if x < 0.62:
            return ['add', self.name()] + self.spec_words()
        if x < 0.77:
            return ['del', self.name()]
        if x < 0.998:
            return ['move', self.name(), self.num(r.randint(0, 300) if r.random() < 0.95
                                                  else 65535)]
        return ['flush']

    def valid(self):
        data = self.join(self.valid_words())
        if self.r.random() < 0.01 and len(data) < LINE_MAX:
            # exactly at the limit: padded to 1024 bytes
            body = data.rstrip(b'\n')
            data = body + b' ' * (LINE_MAX - 1 - len(body)) + b'\n'
        return data

    def malformed(self):
        """(bytes, the errno the defect calls for, the defect's name)"""
        r = self.r
        kind = r.choice(['unknown_key', 'dup_key', 'range', 'reversed',
                         'bad_value', 'bad_name', 'long', 'nul', 'control',
                         'trailing', 'empty', 'no_action', 'missing',
                         'words', 'command'])
        spec = self.spec_words()
        add = ['add', self.name()]
        err = 'EINVAL'
        if kind == 'unknown_key':
            w = add + spec
            w.insert(r.randint(2, len(w)), r.choice(
                ['foo=1', 'Idle=5', 'idle5', '=5', 'lports=5', 'timeout=5',
                 'keepalive', 'order', 'x=', '==']))
        elif kind == 'dup_key':
            w = add + spec
            k = r.choice(spec)
            w.insert(r.randint(2, len(w)), k if r.random() < 0.5 else
                     k.split('=')[0] + '=' + {'family': '4', 'keepalive': 'on',
                                              'mode': 'fill', 'lport': '7',
                                              'rport': '7'}.get(k.split('=')[0], '1'))
        elif kind == 'range':
            err = 'ERANGE'
            k, v = r.choice([
                ('idle', '0'), ('idle', '32768'), ('intvl', '0'), ('intvl', '40000'),
                ('cnt', '0'), ('cnt', '128'), ('cnt', '255'),
                ('user_timeout', '0'), ('user_timeout', '2147483648'),
                ('lport', '0'), ('lport', '65536'), ('rport', '0-5'),
                ('rport', '5-65536'), ('lport', '70000-5'), ('order', '65536'),
                ('cgroup', '0'), ('netns', '0'), ('cgroup', str(U64_MAX + 1)),
                ('netns', '9' * r.randint(21, 60)), ('idle', '9' * r.randint(6, 40)),
                ('move', None)])
            if k == 'move':
                w = ['move', self.name(), r.choice(['65536', '9' * 25])]
            else:
                w = add + [x for x in spec if not x.startswith(k + '=')]
                w.insert(r.randint(2, len(w)), '%s=%s' % (k, v))
                if not any(x.split('=')[0] in ACTIONS for x in w[2:]):
                    w.append('idle=5')
        elif kind == 'reversed':
            k = r.choice(['lport', 'rport'])
            lo = r.randint(2, 65535)
            w = add + [x for x in spec if not x.startswith(k + '=')]
            w.insert(r.randint(2, len(w)), '%s=%d-%d' % (k, lo, r.randint(1, lo - 1)))
        elif kind == 'bad_value':
            k, v = r.choice([
                ('family', '5'), ('family', '44'), ('family', 'inet'),
                ('keepalive', 'off'), ('keepalive', 'ON'), ('mode', 'Fill'),
                ('mode', 'overide'), ('idle', '1x'), ('idle', '-1'), ('idle', '+1'),
                ('intvl', '0x10'), ('cnt', '1.5'), ('lport', '5-'), ('lport', '-5'),
                ('rport', '5--6'), ('rport', 'a-b'), ('lport', '1-2-3'),
                ('user_timeout', 'Auto'), ('user_timeout', 'auto1'),
                ('order', '-1'), ('cgroup', 'root'), ('netns', 'kap-c'),
                ('idle', ''), ('mode', '')])
            w = add + [x for x in spec if not x.startswith(k + '=')]
            w.insert(r.randint(2, len(w)), '%s=%s' % (k, v))
        elif kind == 'bad_name':
            bad = r.choice(['a/b', 'a.b', 'x' * 32, 'y' * r.randint(33, 80), 'a:b',
                            'n=1', 'a*', '"a"', "it's"])
            w = r.choice([['add', bad] + spec, ['del', bad], ['move', bad, '1']])
        elif kind == 'long':
            w = None
            body = self.join(self.valid_words()).rstrip(b'\n')
            n = r.choice([LINE_MAX + 1, r.randint(LINE_MAX + 1, PAGE),
                          r.randint(PAGE, 3 * PAGE)])
            pad = r.choice([b' ', b'\t', b'x'])
            fill = n - len(body) - 1
            data = body + (b' ' + pad * (fill - 1) if pad == b'x' else pad * fill) + b'\n'
            return data, err, kind
        elif kind in ('nul', 'control'):
            data = self.join(self.valid_words())
            i = r.randint(0, len(data))
            ins = b'\0' if kind == 'nul' else r.choice(
                [b'\r', b'\x1b', b'\x7f', b'\xc3\xa9', b'\x80', b'\n', b'\x0b', b'\x01'])
            if ins == b'\n' and i >= len(data) - 1:
                i = 0
            return data[:i] + ins + data[i:], err, kind
        elif kind == 'trailing':
            w = r.choice([['flush', 'x'], ['begin', 'now'], ['commit', '1'],
                          ['abort', 'it'], ['del', self.name(), 'x'],
                          ['move', self.name(), '1', '2'],
                          add + spec + ['junk']])
        elif kind == 'empty':
            data = r.choice([b'', b'\n', b' ', b'\t\n', b'   \n', b'\t'])
            return data, 'EMPTY' if not data else err, kind
        elif kind == 'no_action':
            w = add + [x for x in spec if x.split('=')[0] not in ACTIONS]
        elif kind == 'missing':
            w = r.choice([['del'], ['move'], ['move', self.name()], ['add']])
        elif kind == 'words':
            w = add + ['idle=5'] + ['x=%d' % i for i in range(MAX_WORDS)]
            w = w[:r.randint(MAX_WORDS + 1, len(w))]
        else:   # command
            w = [r.choice(['ad', 'ADD', 'list', 'delete', 'flush!', 'Begin',
                           'commit;', 'rm', '#'])] + spec
        return self.join(w), err, kind

    def truncated(self):
        data = self.join(self.valid_words())
        return data[:self.r.randint(0, len(data) - 1)]

    def soup(self):
        r = self.r
        toks = ['add', 'del', 'flush', 'move', 'begin', 'commit', 'abort',
                self.name(), self.name(), 'idle=5', 'cnt=3', 'keepalive=on',
                'user_timeout=auto', 'mode=override', 'order=0',
                'lport=%d' % self.port, 'rport=1-65535', 'family=6', '=',
                '-', '0', '65535', '99999', 'idle=', 'x', '\t', '\n']
        n = r.randint(1, 8)
        return ' '.join(r.choice(toks) for _ in range(n)).encode()

    def random_bytes(self):
        r = self.r
        n = r.choice([r.randint(1, 16), r.randint(1, 128), r.randint(1, 1100)])
        if r.random() < 0.5:
            return bytes(r.randint(0x20, 0x7e) for _ in range(n))
        return bytes(r.getrandbits(8) for _ in range(n))


# ---- the writer ---------------------------------------------------------------

def progress(msg, kmsg):
    """A '# ' line on stderr and, with --kmsg, in the kernel log."""
    print('# control_fuzz: ' + msg, file=sys.stderr, flush=True)
    if kmsg:
        try:
            with open('/dev/kmsg', 'w') as f:
                f.write('kapolicy-selftest: control_fuzz: %s\n' % msg)
        except OSError:
            pass


def errname(e):
    return errno.errorcode.get(e, str(e))


class Fuzz:
    def __init__(self, a):
        self.a = a
        self.r = random.Random(a.seed)
        self.gen = Gen(self.r, a)
        self.model = Model(a.max_policies, set(a.cgroup or []),
                           set(a.gone_cgroup or []))
        self.fd = os.open(a.control, os.O_WRONLY)
        self.n = 0
        self.by_kind = {}
        self.by_outcome = {}
        self.unexpected = []
        self.nunexpected = 0
        self.selfcheck = []
        self.checks = self.mismatches = 0
        self.killed = {'episodes': 0, 'busy_writes': 0, 'begin_after': 0,
                       'modes': {}}
        self.t_changed = self.t_refused = 0.0
        self.n_changed = 0
        self.reopens = 0
        self.notes = {}

    def write(self, data, fd=None):
        """One write(2): 'OK', 'EMPTY' (0 bytes taken) or the errno name."""
        try:
            n = os.write(self.fd if fd is None else fd, data)
        except OSError as e:
            return errname(e.errno)
        if n == 0 and data:
            return 'SHORT0'
        if n == 0:
            return 'EMPTY'
        return 'OK' if n == len(data) else 'SHORT%d' % n

    def bad(self, kind, data, allowed, got, why=''):
        self.nunexpected += 1
        if len(self.unexpected) < 20:
            self.unexpected.append({'write': self.n, 'kind': kind,
                                    'cmd': repr(data[:200]) + ('...%d bytes' % len(data)
                                                               if len(data) > 200 else ''),
                                    'allowed': sorted(allowed), 'got': got,
                                    'why': why})

    def one(self, kind, data, declared=None):
        """Writes data and judges the outcome."""
        verdict, x = parse(data)
        if not data:
            allowed, apply = {'EMPTY'}, None
        elif verdict == 'err':
            allowed, apply = x, None
        else:
            allowed, apply = self.model.predict(x)
        if declared is not None and declared not in allowed:
            # the generator and the reference parser disagree: a bug here
            if len(self.selfcheck) < 10:
                self.selfcheck.append({'cmd': repr(data[:200]), 'declared': declared,
                                       'parser': sorted(allowed)})
        if self.r.random() < 0.01:
            os.close(self.fd)
            self.fd = os.open(self.a.control, os.O_WRONLY)
            self.reopens += 1
        t0 = time.monotonic()
        got = self.write(data)
        dt = time.monotonic() - t0
        self.n += 1
        k = self.by_kind.setdefault(kind, {})
        k[got] = k.get(got, 0) + 1
        self.by_outcome[got] = self.by_outcome.get(got, 0) + 1
        if got == 'OK' and apply is not None:
            self.t_changed += dt
            self.n_changed += 1
        else:
            self.t_refused += dt
        if declared is not None and got != declared:
            self.bad(kind, data, {declared}, got, 'malformed: declared ' + declared)
        elif got not in allowed:
            self.bad(kind, data, allowed, got)
        if verdict == 'ok' and self.model.txn is not None and got in ('OK', 'ENOSPC'):
            if x['op'] == 'add' and len(self.model.txn) >= self.model.max:
                self.note('txn_add_beyond_max_' + got)
            elif x['op'] == 'commit' and got == 'ENOSPC':
                self.note('commit_ENOSPC')
        if got == 'OK' and apply is not None:
            apply()
        return got

    def note(self, what):
        self.notes[what] = self.notes.get(what, 0) + 1

    def random_write(self):
        g, x = self.gen, self.r.random()
        g.in_txn = self.model.txn is not None
        if x < 0.45:
            self.one('valid', g.valid())
        elif x < 0.70:
            data, err, defect = g.malformed()
            self.one('malformed', data, err)
        elif x < 0.85:
            self.one('truncated', g.truncated())
        elif x < 0.92:
            self.one('soup', g.soup())
        else:
            self.one('random', g.random_bytes())

    # A writer that opens a transaction, stages policies and dies before
    # commit.  While it lives, every command of ours gets EBUSY; once it
    # is reaped, nothing of its transaction is left.
    def killed_writer(self):
        r = self.r
        mode = r.choice(['killed_waiting', 'killed_writing', 'exited'])
        shared = r.random() < 0.3      # writes on our inherited fd
        ep = self.killed['episodes']
        self.killed['episodes'] += 1
        self.killed['modes'][mode] = self.killed['modes'].get(mode, 0) + 1
        nadd = r.randint(1, 20)
        rd, wr = os.pipe()
        hold_r, hold_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(rd)
                os.close(hold_w)
                fd = self.fd if shared else os.open(self.a.control, os.O_WRONLY)
                try:
                    os.write(fd, b'begin\n')
                    os.write(wr, b'B')
                except OSError as e:
                    os.write(wr, ('E%s' % errname(e.errno)).encode())
                    os._exit(1)
                i = 0
                while True:
                    try:
                        os.write(fd, b'add k%d-%d lport=%d idle=7 mode=override' %
                                 (ep, i % 40, self.a.port))
                    except OSError:
                        pass
                    i += 1
                    if i == nadd and mode != 'killed_writing':
                        os.write(wr, b'A')
                        if mode == 'exited':
                            os._exit(0)
                        os.read(hold_r, 1)      # until killed
                        os._exit(0)
            finally:
                os._exit(2)
        os.close(wr)
        os.close(hold_r)
        msg = os.read(rd, 1)
        if msg == b'E':
            msg += os.read(rd, 64)
        if msg != b'B':
            self.bad('killed_writer', b'begin', {'OK'}, msg.decode(errors='replace'),
                     'the writer could not begin')
        else:
            self.model.other = True
            if mode == 'killed_writing':
                time.sleep(r.random() * 0.02)
            else:
                os.read(rd, 1)          # 'A': its adds are staged
            if mode != 'exited':
                # it lives: every command of ours is refused with EBUSY
                for _ in range(r.randint(1, 4)):
                    self.killed['busy_writes'] += 1
                    self.one('killed_writer', self.gen.valid())
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(rd)
        os.close(hold_w)
        self.model.other = False
        if r.random() < 0.5 and self.model.txn is None:
            # another process's begin succeeds once the writer is gone
            self.killed['begin_after'] += 1
            self.one('killed_writer', b'begin\n')

    def table(self):
        """The live table as sysfs shows it: [(name, spec)] in order."""
        rows = []
        for name in os.listdir(self.a.policies):
            d = os.path.join(self.a.policies, name)
            with open(os.path.join(d, 'order')) as f:
                order = int(f.read())
            with open(os.path.join(d, 'spec')) as f:
                spec = f.read().rstrip('\n')
            rows.append((order, name, spec))
        rows.sort()
        return [(n, s) for _, n, s in rows], [o for o, _, _ in rows]

    def check_table(self):
        self.checks += 1
        live, orders = self.table()
        if live != self.model.live or orders != list(range(len(orders))):
            self.mismatches += 1
            want = dict(self.model.live)
            have = dict(live)
            diff = {n: [want.get(n), have.get(n)] for n in set(want) | set(have)
                    if want.get(n) != have.get(n)}
            self.bad('table', b'', {'model'}, 'differs',
                     'after write %d: %d policies listed, model %d; differing: %s; '
                     'order %s' % (self.n, len(live), len(self.model.live),
                                   json.dumps(dict(list(diff.items())[:5])),
                                   'same' if [n for n, _ in live] ==
                                   [n for n, _ in self.model.live] else 'differs'))

    def run(self):
        t0 = time.monotonic()
        last, next_check, next_log = t0, 5000, 10000
        while self.n < self.a.writes:
            if self.model.txn is None and self.r.random() < self.a.killed_rate:
                self.killed_writer()
            else:
                self.random_write()
            if self.n >= next_check:
                next_check += 5000
                self.check_table()
            if self.n >= next_log:
                next_log += 10000
                now = time.monotonic()
                progress('%d writes, %.0f s (last 10000: %.0f s), %d policies, %d unexpected'
                         % (self.n, now - t0, now - last, len(self.model.live),
                            self.nunexpected), self.a.kmsg)
                last = now
        if self.model.txn is not None:
            self.one('end', b'abort\n')
        self.check_table()
        el = time.monotonic() - t0
        return {
            'seed': self.a.seed, 'writes': self.n, 'seconds': round(el, 1),
            'by_outcome': self.by_outcome, 'by_kind': self.by_kind,
            'table_changes': self.n_changed,
            'ms_per_change': round(1000 * self.t_changed / max(1, self.n_changed), 3),
            'ms_per_other': round(1000 * self.t_refused / max(1, self.n - self.n_changed), 3),
            'reopens': self.reopens, 'notes': self.notes,
            'killed_writers': self.killed,
            'table_checks': self.checks, 'table_mismatches': self.mismatches,
            'policies': len(self.model.live),
            'unexpected': self.nunexpected, 'unexpected_first': self.unexpected,
            'selfcheck': self.selfcheck,
        }


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--writes', type=int, default=100000)
    p.add_argument('--seed', type=int)
    p.add_argument('--max-policies', type=int, default=4096,
                   help='the module parameter max_policies')
    p.add_argument('--port', type=int, default=5070,
                   help='the port policies often name (the churn\'s)')
    p.add_argument('--cgroup', type=int, action='append',
                   help='the id of a cgroup that exists throughout')
    p.add_argument('--gone-cgroup', type=int, action='append',
                   help='the id of a cgroup that no longer exists')
    p.add_argument('--netns', type=int, action='append',
                   help='a network namespace cookie')
    p.add_argument('--killed-rate', type=float, default=0.01,
                   help='chance per write outside a transaction of a writer killed in one')
    p.add_argument('--kmsg', action='store_true',
                   help='progress in the kernel log too')
    p.add_argument('--control', default=CONTROL)
    p.add_argument('--policies', default=POLICIES)
    a = p.parse_args()
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), 'little')
    progress('seed %d (--seed %d replays)' % (a.seed, a.seed), a.kmsg)
    s = Fuzz(a).run()
    print(json.dumps(s, sort_keys=True))
    sys.exit(1 if s['unexpected'] or s['selfcheck'] else 0)


if __name__ == '__main__':
    main()
