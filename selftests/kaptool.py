#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test peers for the kapolicy selftests.

  kaptool.py server ADDR PORT [options]   listen, accept, echo (or not read)
  kaptool.py client ADDR PORT [options]   open connections, then wait for
                                          them to die and report how
  kaptool.py wire PCAP SRC DST            keepalive on the wire, from SRC's
                                          point of view (JSON)
  kaptool.py idlers ADDR PORT --idle S,S.. one connection per S: idle S
                                          seconds after the greeting, then
                                          send a byte and report how the
                                          connection fared (JSON lines)
  kaptool.py ctl FILE COMMAND...          write each COMMAND (printf %b
                                          escapes) to FILE in its own
                                          write(); print OK or the errno name

With --report FILE, a client or server writes, on SIGUSR2, one JSON line per
connection with the keepalive settings as the application sees them
(getsockopt): keepalive, idle, intvl, cnt, user_timeout, lport, rport.

The client reports, as JSON lines in --result, one line per connection:
{"conn": i, "error": "ETIMEDOUT" | "ECONNRESET" | "EOF" | "alive",
 "after": seconds since the client said it was connected}.  It writes
--ready once every connection is established and has exchanged one byte
with the server, so that a test applies its faults only after that.
"""
import argparse
import errno
import json
import os
import select
import selectors
import signal
import socket
import struct
import sys
import time


def sockopts(s):
    """The keepalive settings of s as getsockopt() reports them."""
    g = s.getsockopt
    return {
        'keepalive': g(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
        'idle': g(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
        'intvl': g(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
        'cnt': g(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
        'user_timeout': g(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
        'lport': s.getsockname()[1],
        'rport': s.getpeername()[1],
    }


def report(path, socks):
    lines = []
    for i, s in enumerate(socks):
        try:
            d = sockopts(s)
        except OSError as e:
            d = {'error': errno.errorcode.get(e.errno, str(e.errno))}
        d['conn'] = i
        lines.append(json.dumps(d))
    write_file(path, '\n'.join(lines) + '\n')


def on_report(path, socks_fn):
    """SIGUSR2 writes the report of the sockets socks_fn() returns."""
    if path:
        signal.signal(signal.SIGUSR2,
                      lambda s, f: report(path, socks_fn()))


def family_of(addr):
    return socket.AF_INET6 if ':' in addr else socket.AF_INET


def write_file(path, text):
    if not path:
        return
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def server(a):
    listeners = []
    for port in range(a.port, a.port + a.ports):
        ls = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if a.rcvbuf:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, a.rcvbuf)
        setopts(ls, a)      # accepted connections inherit these
        ls.bind((a.addr, port))
        ls.listen(4096)
        listeners.append(ls)
    conns = []
    greeted = set()     # connections that got their one-byte echo

    forget = []

    def forget_all():
        # Lose every connection without a word reaching the peer (a test
        # drops our packets meanwhile): RST on close, as a reboot would.
        for c in conns:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack('ii', 1, 0))
            c.close()
        conns.clear()
        write_file(a.forgotten, 'forgotten\n')

    # The handler only asks: the sockets are closed between two select()s.
    signal.signal(signal.SIGUSR1, lambda s, f: forget.append(1))
    on_report(a.report, lambda: conns)
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    sel = selectors.DefaultSelector()
    for ls in listeners:
        sel.register(ls, selectors.EVENT_READ)

    def drop(s):
        sel.unregister(s)
        if s in conns:
            conns.remove(s)
        s.close()

    write_file(a.ready, 'listening\n')
    while True:
        if forget:
            forget.clear()
            for c in conns:
                if c.fileno() in sel.get_map():
                    sel.unregister(c)
            forget_all()
        for key, _ in sel.select(0.1):
            s = key.fileobj
            if s in listeners:
                c, _ = s.accept()
                conns.append(c)
                sel.register(c, selectors.EVENT_READ)
                continue
            if a.no_read and s in greeted:
                sel.unregister(s)   # never read again: the window closes
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b''
            if not data:
                drop(s)
                continue
            if not a.no_echo:
                s.sendall(data[:1])
            greeted.add(s)


def setopts(s, a, keepalive_last=False):
    if a.keepalive and not keepalive_last:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if a.idle:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, a.idle)
    if a.intvl:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, a.intvl)
    if a.cnt:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, a.cnt)
    if a.user_timeout:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT,
                     a.user_timeout)
    if a.keepalive and keepalive_last:
        # On an idle socket with keepalive on, TCP_KEEPIDLE fires the
        # timer at once and the next probe follows the old interval:
        # the values first, then the switch.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def client(a):
    socks = []
    for i in range(a.count):
        s = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
        if not a.set_after and not a.setopts_after:
            setopts(s, a)
        s.settimeout(30)
        s.connect((a.addr, a.port + i % a.ports))
        if a.set_after:
            setopts(s, a)
        if a.keepalive_off_after:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0)
        socks.append(s)
    # One byte each way: the server has accepted, the path works.
    for s in socks:
        s.sendall(b'x')
    for s in socks:
        if s.recv(1) != b'x':
            sys.exit('no echo from the server')
        s.setblocking(False)
    t0 = time.monotonic()
    on_report(a.report, lambda: socks)
    write_file(a.ready, 'connected\n')
    if a.setopts_after:
        # The keepalive timers start from here: whatever the caller had
        # to do first (a fault on the path) is in place before any probe.
        while not os.path.exists(a.setopts_after):
            time.sleep(0.05)
        for s in socks:
            setopts(s, a, keepalive_last=True)
        t0 = time.monotonic()   # --wait counts from here
    if a.close:
        for s in socks:
            s.close()
        write_file(a.result, '')
        return

    if a.send_after:
        # Wait for the go-ahead, then queue data that cannot be delivered.
        while not os.path.exists(a.send_after):
            time.sleep(0.05)
        for s in socks:
            try:
                s.send(b'y' * a.send_bytes)
            except BlockingIOError:
                pass

    pending = {s.fileno(): (i, s) for i, s in enumerate(socks)}
    results = {}
    poller = select.poll()
    for fd in pending:
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    deadline = t0 + a.wait
    while pending and time.monotonic() < deadline:
        if a.fill:
            for fd, (i, s) in pending.items():
                try:
                    s.send(b'z' * 65536)
                except (BlockingIOError, OSError):
                    pass
        for fd, _ in poller.poll(100):
            i, s = pending.pop(fd)
            poller.unregister(fd)
            try:
                data = s.recv(1)
                err = 'EOF' if not data else 'DATA'
            except OSError as e:
                err = errno.errorcode.get(e.errno, str(e.errno))
            results[i] = (err, time.monotonic() - t0)
    for fd, (i, s) in pending.items():
        results[i] = ('alive', time.monotonic() - t0)
    lines = [json.dumps({'conn': i, 'error': e, 'after': round(t, 3)})
             for i, (e, t) in sorted(results.items())]
    write_file(a.result, '\n'.join(lines) + '\n')
    if a.hold:
        signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
        while True:
            time.sleep(3600)


def pcap_packets(path):
    """(src, dst, seq, ack, flags, payload length, source port, destination
    port) of each TCP packet of an Ethernet pcap file written by tcpdump."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = struct.unpack('<I', data[:4])[0]
    endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        if len(pkt) < 14:
            continue
        etype = struct.unpack('!H', pkt[12:14])[0]
        ip = pkt[14:]
        if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
            ihl = (ip[0] & 0xf) * 4
            total = struct.unpack('!H', ip[2:4])[0]
            src = socket.inet_ntop(socket.AF_INET, ip[12:16])
            dst = socket.inet_ntop(socket.AF_INET, ip[16:20])
            tcp, iplen = ip[ihl:], total - ihl
        elif etype == 0x86dd and len(ip) >= 40 and ip[6] == 6:
            src = socket.inet_ntop(socket.AF_INET6, ip[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, ip[24:40])
            tcp, iplen = ip[40:], struct.unpack('!H', ip[4:6])[0]
        else:
            continue
        if len(tcp) < 20:
            continue
        sport, dport, seq, ack = struct.unpack('!HHII', tcp[:12])
        doff = (tcp[12] >> 4) * 4
        yield src, dst, seq, ack, tcp[13], iplen - doff, sport, dport


def wire(a):
    FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10
    nxt = None          # the next sequence number SRC will send
    pending = False     # a probe waits for its answer
    probes = answers = rsts = 0
    reset = set()       # the connections (port pairs) that got an RST
    for src, dst, seq, ack, flags, length, sport, dport in pcap_packets(a.pcap):
        if src == a.src and dst == a.dst:
            end = (seq + length + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff
            if (length == 0 and flags & (SYN | FIN | RST) == 0 and
                    nxt is not None and seq == (nxt - 1) & 0xffffffff):
                probes += 1
                pending = True
                continue
            if nxt is None or (end - nxt) & 0xffffffff < 0x80000000:
                nxt = end
        elif src == a.dst and dst == a.src:
            if flags & RST:
                rsts += 1
                reset.add((sport, dport))
            elif pending and length == 0 and flags & (SYN | FIN) == 0:
                answers += 1
                pending = False
    print(json.dumps({'probes': probes, 'answers': answers, 'rsts': rsts,
                      'reset_conns': len(reset)}))


def churn(a):
    """Open, use and close connections for a while (or until SIGTERM);
    report counts."""
    end = time.monotonic() + a.seconds
    done, errors = 0, {}
    stop = []
    signal.signal(signal.SIGTERM, lambda s, f: stop.append(1))
    while time.monotonic() < end and not stop:
        s = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
        try:
            s.settimeout(5)
            if a.keepalive:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            s.connect((a.addr, a.port))
            # setsockopt after connect: what override mode overrules
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1 + done % 5)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 5000)
            s.sendall(b'x')
            if s.recv(1) != b'x':
                raise OSError(errno.EPROTO, 'no echo')
            done += 1
        except OSError as e:
            name = errno.errorcode.get(e.errno, str(e))
            errors[name] = errors.get(name, 0) + 1
        finally:
            s.close()
    write_file(a.result, json.dumps({'done': done, 'errors': errors}) + '\n')


def storm(a):
    """Set keepalive options in a loop until killed: process-context load
    on the setsockopt path while softirqs run keepalive timers."""
    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    n = 0
    try:
        # ready once SIGTERM is handled (a slow kernel starts Python in
        # seconds); then, with --go, wait for the go file
        if a.ready:
            write_file(a.ready, 'ready\n')
        while a.go and not os.path.exists(a.go):
            time.sleep(0.05)
        while True:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, n & 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1 + n % 100)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, n & 1)
            n += 1
    except KeyboardInterrupt:
        pass
    if a.result:
        write_file(a.result, '%d\n' % n)


def ctl(a):
    cmds = a.commands
    if cmds == ['-']:
        cmds = [line.rstrip('\n') for line in sys.stdin]
    for cmd in cmds:
        if cmd == '@LONG':
            data = b'add long idle=5'.ljust(1100)
        else:
            data = cmd.encode().decode('unicode_escape').encode('latin-1')
        try:
            fd = os.open(a.file, os.O_WRONLY)
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
            continue
        try:
            os.write(fd, data)
            print('OK')
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
        finally:
            os.close(fd)
        sys.stdout.flush()
        if a.hold:
            time.sleep(a.hold)


def idlers(a):
    """One connection per --idle value: greeting byte echoed, idle for that
    long (no segment either way), one byte sent, its echo awaited.  Plus
    --close-after: a connection closed normally after that long, and
    --hold N connections left idle until the end.  --result gets one JSON
    line per timed connection: {"idle": S, "error": "DATA" | "ECONNRESET" |
    "ETIMEDOUT" | "closed" | ..., "after": seconds from the send}."""
    import threading
    idles = [float(x) for x in a.idle.split(',') if x]
    socks = []
    for _ in idles + [None] * (1 if a.close_after else 0) + [None] * a.hold:
        s = socket.socket(family_of(a.addr), socket.SOCK_STREAM)
        s.settimeout(30)
        s.connect((a.addr, a.port))
        s.sendall(b'x')
        if s.recv(1) != b'x':
            sys.exit('no echo from the server')
        socks.append(s)
    t0 = time.monotonic()
    write_file(a.ready, 'connected\n')
    results = []
    lock = threading.Lock()

    def timed(s, idle):
        time.sleep(max(0, t0 + idle - time.monotonic()))
        t1 = time.monotonic()
        s.settimeout(a.wait)
        try:
            s.send(b'q')
            data = s.recv(1)
            err = 'DATA' if data else 'EOF'
        except OSError as e:
            # settimeout() expiring raises TimeoutError without an errno;
            # the kernel's ETIMEDOUT is a TimeoutError too, with one
            err = ('alive' if e.errno is None
                   else errno.errorcode.get(e.errno, str(e.errno)))
        with lock:
            results.append({'idle': idle, 'error': err,
                            'after': round(time.monotonic() - t1, 3)})
        s.close()       # now: the flow is still known to the middlebox

    def closer(s):
        time.sleep(max(0, t0 + a.close_after - time.monotonic()))
        s.shutdown(socket.SHUT_WR)
        s.settimeout(a.wait)
        try:
            err = 'closed' if not s.recv(1) else 'DATA'
        except OSError as e:
            err = errno.errorcode.get(e.errno, str(e.errno))
        s.close()
        with lock:
            results.append({'idle': a.close_after, 'error': err, 'after': 0})

    threads = [threading.Thread(target=timed, args=(s, i))
               for s, i in zip(socks, idles)]
    if a.close_after:
        threads.append(threading.Thread(target=closer,
                                        args=(socks[len(idles)],)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.sort(key=lambda r: r['idle'])
    write_file(a.result, ''.join(json.dumps(r) + '\n' for r in results))
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    while a.hold:
        time.sleep(3600)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = p.add_subparsers(dest='role', required=True)
    sv = sub.add_parser('server')
    sv.add_argument('addr')
    sv.add_argument('port', type=int)
    sv.add_argument('--ports', type=int, default=1,
                    help='listen on PORT .. PORT + PORTS - 1')
    sv.add_argument('--ready', help='file written once listening')
    sv.add_argument('--forgotten',
                    help='file written after SIGUSR1 dropped every connection')
    sv.add_argument('--no-read', action='store_true',
                    help='after the greeting byte, never read: the receive '
                         'window closes')
    sv.add_argument('--no-echo', action='store_true')
    sv.add_argument('--rcvbuf', type=int, default=0)
    sv.add_argument('--report', help='SIGUSR2 writes the settings here')
    for q in (sv,):
        q.add_argument('--keepalive', action='store_true')
        q.add_argument('--idle', type=int, default=0)
        q.add_argument('--intvl', type=int, default=0)
        q.add_argument('--cnt', type=int, default=0)
        q.add_argument('--user-timeout', type=int, default=0, help='ms')
    cl = sub.add_parser('client')
    cl.add_argument('addr')
    cl.add_argument('port', type=int)
    cl.add_argument('--count', type=int, default=1)
    cl.add_argument('--ports', type=int, default=1,
                    help='spread the connections over PORT .. PORT + PORTS - 1')
    cl.add_argument('--keepalive', action='store_true')
    cl.add_argument('--idle', type=int, default=0)
    cl.add_argument('--intvl', type=int, default=0)
    cl.add_argument('--cnt', type=int, default=0)
    cl.add_argument('--user-timeout', type=int, default=0, help='ms')
    cl.add_argument('--set-after', action='store_true',
                    help='set the options after connect()')
    cl.add_argument('--setopts-after',
                    help='set the options once connected and this file exists')
    cl.add_argument('--keepalive-off-after', action='store_true',
                    help='switch SO_KEEPALIVE off after connect()')
    cl.add_argument('--ready', help='file written once connected')
    cl.add_argument('--result', help='JSON lines: how each connection ended')
    cl.add_argument('--wait', type=float, default=60,
                    help='seconds to wait for the connections to end')
    cl.add_argument('--send-after',
                    help='once this file exists, send --send-bytes on each')
    cl.add_argument('--send-bytes', type=int, default=1000)
    cl.add_argument('--fill', action='store_true',
                    help='keep sending: fill the peer\'s window')
    cl.add_argument('--report', help='SIGUSR2 writes the settings here')
    cl.add_argument('--close', action='store_true',
                    help='close every connection once connected, and exit')
    cl.add_argument('--hold', action='store_true',
                    help='keep the sockets open after reporting')
    wi = sub.add_parser('wire')
    wi.add_argument('pcap')
    wi.add_argument('src')
    wi.add_argument('dst')
    ch = sub.add_parser('churn')
    ch.add_argument('addr')
    ch.add_argument('port', type=int)
    ch.add_argument('--seconds', type=float, default=5)
    ch.add_argument('--keepalive', action='store_true')
    ch.add_argument('--result', required=True)
    so = sub.add_parser('storm')
    so.add_argument('--result', help='the number of rounds, on SIGTERM')
    so.add_argument('--ready', help='written once SIGTERM is handled')
    so.add_argument('--go', help='start the rounds once this file exists')
    il = sub.add_parser('idlers')
    il.add_argument('addr')
    il.add_argument('port', type=int)
    il.add_argument('--idle', required=True,
                    help='comma-separated idle times, seconds')
    il.add_argument('--close-after', type=float, default=0,
                    help='one more connection, closed normally after this')
    il.add_argument('--hold', type=int, default=0,
                    help='connections kept open and idle until killed')
    il.add_argument('--wait', type=float, default=30,
                    help='seconds to wait for the answer to the byte')
    il.add_argument('--ready', help='file written once connected')
    il.add_argument('--result', required=True)
    ct = sub.add_parser('ctl')
    ct.add_argument('--hold', type=float, default=0,
                    help='seconds to live on after each write')
    ct.add_argument('file')
    ct.add_argument('commands', nargs='+',
                    help="commands, or '-': one per line on stdin")
    a = p.parse_args()
    {'server': server, 'client': client, 'wire': wire, 'ctl': ctl,
     'churn': churn, 'storm': storm, 'idlers': idlers}[a.role](a)


if __name__ == '__main__':
    main()
