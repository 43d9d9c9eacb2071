#!/usr/bin/env python3
"""`ctkit kernel-replay` leaves the host exactly as it found it.

  host_state.py CTKIT

Runs the real binary and, after each run, compares the host with a snapshot
taken before: named network namespaces and /run/netns, the links of the
initial namespace (and of every named one), the nftables ruleset, and every
sysctl under /proc/sys/net/netfilter (the global nf_conntrack_max and
nf_conntrack_buckets among them). Each run changes both globals
(--allow-global), so restoring them is really exercised:

  - SIGTERM, SIGINT and SIGHUP while packets are being injected (a capture
    with long gaps; the test waits until the new nf_conntrack_max is
    visible, i.e. the sandbox is up, before signalling);
  - the kernel refusing a global value after another one was changed;
  - a forced failure after each stage (--fail-after sandbox|routes|inject);
  - a capture that turns out to be truncated (reported, exit 1);
  - a run that succeeds (and warns on stderr that the globals limit every
    namespace on the host while it runs);
  - SIGKILL mid-injection, which no process can catch: the globals stay
    changed and the journal /run/ctkit/kernel-replay.state holds the old
    values; then `ctkit kernel-replay --restore`, or the next ordinary run,
    writes them back and removes the journal. While a run is alive,
    --restore and a second --allow-global run leave its globals alone.

Root only: exits 77 (CTest: skipped) with a message otherwise.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'fidelity'))
import gen_scenarios as g  # noqa: E402  (the fidelity corpus' packet builders)

NF = '/proc/sys/net/netfilter'
JOURNAL = '/run/ctkit/kernel-replay.state'


def run(argv):
    r = subprocess.run(argv, capture_output=True, text=True)
    return f'$ {" ".join(argv)} -> {r.returncode}\n{r.stdout}{r.stderr}'


def snapshot():
    s = [run(['ip', 'netns', 'list']),
         run(['ip', '-o', 'link', 'show']),
         run(['ip', '-all', 'netns', 'exec', 'ip', '-o', 'link', 'show']),
         run(['nft', 'list', 'ruleset'])]
    for name in sorted(os.listdir(NF)):
        if name == 'nf_conntrack_count':  # moves with the host's own traffic
            continue
        try:
            with open(os.path.join(NF, name)) as f:
                s.append(f'{name}={f.read().strip()}')
        except OSError as e:
            s.append(f'{name}: {e.strerror}')
    if os.path.isdir('/run/netns'):
        s.append('/run/netns: ' + ' '.join(sorted(os.listdir('/run/netns'))))
        s.append(run(['mountpoint', '/run/netns']))
    else:
        s.append('/run/netns: absent')
    return '\n'.join(s)


def read_global(name):
    with open(os.path.join(NF, name)) as f:
        return int(f.read())


def main():
    if os.geteuid() != 0:
        print('SKIP: kernel-replay host-state test needs root (network namespaces)')
        return 77
    ctkit = sys.argv[1]
    failures = []
    max0, buckets0 = read_global('nf_conntrack_max'), read_global('nf_conntrack_buckets')
    new_max = max0 + 777
    new_buckets = 8192 if buckets0 != 8192 else 16384
    globals_ = ['--allow-global', '--sysctl', f'nf_conntrack_max={new_max}',
                '--sysctl', f'nf_conntrack_buckets={new_buckets}',
                '--sysctl', 'nf_conntrack_udp_timeout=17']

    with tempfile.TemporaryDirectory() as tmp:
        slow = os.path.join(tmp, 'slow.pcap')  # 3 packets over 8 s
        cap = g.Capture()
        cap.add(g.udp(g.C4, 50000, g.S4, 53))
        cap.add(g.udp(g.C4, 50000, g.S4, 53), 4.0)
        cap.add(g.udp(g.C4, 50000, g.S4, 53), 4.0)
        cap.write(slow)
        short = os.path.join(tmp, 'short.pcap')
        cap = g.Capture()
        cap.add(g.udp(g.C4, 50001, g.S4, 53)).add(g.udp(g.S4, 53, g.C4, 50001))
        cap.write(short)
        truncated = os.path.join(tmp, 'truncated.pcap')
        with open(short, 'rb') as f:
            data = f.read()
        with open(truncated, 'wb') as f:
            f.write(data[:-10])  # the second record is cut short

        def wait_for_globals(p, t0):
            # Until the sandbox is up (the new global is visible).
            while time.monotonic() - t0 < 10 and read_global('nf_conntrack_max') != new_max:
                if p.poll() is not None:
                    break
                time.sleep(0.02)
            return read_global('nf_conntrack_max') == new_max

        def while_alive(what):
            # A live run's globals are its own: --restore and a second
            # --allow-global run leave them alone.
            r = subprocess.run([ctkit, 'kernel-replay', '--restore'],
                               capture_output=True, text=True)
            if r.returncode != 1 or 'is running' not in r.stderr:
                failures.append(f'{what}: --restore beside a live run: exit '
                                f'{r.returncode}: {r.stdout}{r.stderr}')
            r = subprocess.run([ctkit, 'kernel-replay', short, '--allow-global',
                                '--sysctl', f'nf_conntrack_max={max0 + 5}'],
                               capture_output=True, text=True)
            if r.returncode != 1 or 'another ctkit kernel-replay' not in r.stderr:
                failures.append(f'{what}: a second --allow-global run: exit '
                                f'{r.returncode}: {r.stderr}')
            if read_global('nf_conntrack_max') != new_max:
                failures.append(f'{what}: the live run lost its nf_conntrack_max')

        def check(what, argv, expect_rc=None, signo=None, beside=None):
            before = snapshot()
            t0 = time.monotonic()
            p = subprocess.Popen([ctkit, 'kernel-replay'] + argv, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            if signo is not None:
                # Signal once the sandbox is up, while the injector sleeps
                # in a gap.
                seen = wait_for_globals(p, t0)
                if beside is not None and seen:
                    beside(what)
                time.sleep(0.3)
                p.send_signal(signo)
                t_sig = time.monotonic()
            try:
                _, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                failures.append(f'{what}: did not exit')
            if signo is not None:
                if not seen:
                    failures.append(f'{what}: the new nf_conntrack_max never showed')
                if time.monotonic() - t_sig > 3:
                    failures.append(f'{what}: took {time.monotonic() - t_sig:.1f} s to stop')
                if p.returncode == 0:
                    failures.append(f'{what}: exit 0 after a signal')
            elif expect_rc is not None and p.returncode != expect_rc:
                failures.append(f'{what}: exit {p.returncode}, wanted {expect_rc}: {err.strip()}')
            after = snapshot()
            if after != before:
                diff = [ln for ln in after.splitlines() if ln not in before.splitlines()]
                gone = [ln for ln in before.splitlines() if ln not in after.splitlines()]
                failures.append(f'{what}: host changed: new {diff} gone {gone}')
            print(f'{what}: exit {p.returncode}, {time.monotonic() - t0:.1f} s'
                  f' ({err.strip().splitlines()[-1] if err.strip() else "no message"})')
            return err

        def killed(what, recover):
            # SIGKILL: the run cannot restore anything itself.
            before = snapshot()
            t0 = time.monotonic()
            p = subprocess.Popen([ctkit, 'kernel-replay', slow] + globals_,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if not wait_for_globals(p, t0):
                failures.append(f'{what}: the new nf_conntrack_max never showed')
            time.sleep(0.3)
            p.kill()
            p.wait()
            if (read_global('nf_conntrack_max'), read_global('nf_conntrack_buckets')) != \
                    (new_max, new_buckets):
                failures.append(f'{what}: the globals were not left changed by the kill')
            try:
                with open(JOURNAL) as f:
                    journal = f.read()
            except OSError as e:
                journal = ''
                failures.append(f'{what}: no journal after the kill: {e}')
            for name, old in (('nf_conntrack_max', max0), ('nf_conntrack_buckets', buckets0)):
                if f'restore {NF}/{name} {old}\n' not in journal:
                    failures.append(f'{what}: the journal lacks {name} {old}: {journal!r}')
            if f'pid {p.pid}\n' not in journal:
                failures.append(f'{what}: the journal does not name pid {p.pid}')
            recover(what, p.pid)
            if os.path.exists(JOURNAL):
                failures.append(f'{what}: the journal is still there')
            after = snapshot()
            if after != before:
                diff = [ln for ln in after.splitlines() if ln not in before.splitlines()]
                failures.append(f'{what}: host changed: new {diff}')
            print(f'{what}: {time.monotonic() - t0:.1f} s')

        def restored(text, pid):
            # The account names each global, its restored and its changed
            # value, and the run that was killed.
            return (text.startswith('restored ') or 'warning: restored ' in text) and \
                f'net.netfilter.nf_conntrack_max = {max0} (was {new_max})' in text and \
                f'net.netfilter.nf_conntrack_buckets = {buckets0} (was {new_buckets})' in text \
                and f'pid {pid}' in text

        def by_restore(what, pid):
            r = subprocess.run([ctkit, 'kernel-replay', '--restore'],
                               capture_output=True, text=True)
            if r.returncode != 0 or not restored(r.stdout, pid):
                failures.append(f'{what}: --restore: exit {r.returncode}: {r.stdout}{r.stderr}')
            again = subprocess.run([ctkit, 'kernel-replay', '--restore'],
                                   capture_output=True, text=True)
            if again.returncode != 0 or 'nothing to restore' not in again.stdout:
                failures.append(f'{what}: a second --restore: exit {again.returncode}: '
                                f'{again.stdout}{again.stderr}')

        def by_next_run(what, pid):
            r = subprocess.run([ctkit, 'kernel-replay', short],
                               capture_output=True, text=True)
            if r.returncode != 0 or not restored(r.stderr, pid):
                failures.append(f'{what}: the next run: exit {r.returncode}: {r.stderr}')

        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            check(f'{sig.name} mid-injection', [slow] + globals_, signo=sig,
                  beside=while_alive if sig == signal.SIGTERM else None)
        killed('SIGKILL mid-injection, then --restore', by_restore)
        killed('SIGKILL mid-injection, then the next run', by_next_run)
        check('kernel refuses a global after another was set',
              [short, '--allow-global', '--sysctl', f'nf_conntrack_max={new_max}',
               '--sysctl', 'nf_conntrack_buckets=2147483647'], expect_rc=1)
        for stage in ('sandbox', 'routes', 'inject'):
            check(f'failing after {stage}', [short, '--fail-after', stage] + globals_,
                  expect_rc=1)
        check('truncated capture', [truncated, '--verdicts'] + globals_, expect_rc=1)
        # A bad setting is bad input (1), as in every command.
        check('bad --sysctl value', [short, '--sysctl', 'nf_conntrack_max=lots'],
              expect_rc=1)
        err = check('success', [short, '--json'] + globals_, expect_rc=0)
        for name, new, old in (('nf_conntrack_max', new_max, max0),
                               ('nf_conntrack_buckets', new_buckets, buckets0)):
            want = (f'ctkit: warning: --allow-global: net.netfilter.{name} is {new} '
                    f'(was {old}) for every network namespace on this host')
            if want not in err:
                failures.append(f'success: no warning {want!r} in {err!r}')

    for f in failures:
        print('FAIL: ' + f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
