#!/usr/bin/env python3
"""The flight recorder as an operator meets it after an incident.

  check.py CTKIT FIXTURES

- `ctkit exporter --root TREE --history FILE --history.interval 0.2` records
  while the tree's table fills: 50 %, then 92 %, then full with the kernel's
  `drop` counter rising, then 95 %, then 50 % again;
- `ctkit history FILE --from .. --to ..` (text and --json) says when the
  table crossed 90 % and 100 %, that it was full from .. to .., the drops,
  and what held the table; exit 0 for an undamaged file;
- a second exporter on the same file is refused while the first records;
  another geometry (--history.retention) is refused naming the field;
- an exporter killed with SIGKILL mid-run leaves a file that still reads,
  and a restarted one continues its sequence;
- a corrupt byte is reported with its slot's offset (exit 1), a truncated
  copy with where it ends (exit 1), a file that is not a history is exit 3,
  a TIME that does not parse exit 2.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'exporter'))
from scrape_lab import expect, failures, free_port, scrape, terminate

ctkit, fixtures = sys.argv[1], sys.argv[2]
SLOT = 1024        # kHistorySlotSize: the header takes the first slot
INTERVAL = 0.2     # seconds between samples
env = dict(os.environ, TZ='UTC')
work = tempfile.mkdtemp(prefix='ctkit_history_')
tree = os.path.join(work, 'tree')
shutil.copytree(os.path.join(fixtures, 'healthy'), tree)
history = os.path.join(work, 'incident.ctkh')
LIMIT = 1000


def put(rel, text):
    """Replaces a fixture file at once (the exporter never reads half)."""
    path = os.path.join(tree, rel)
    tmp = path + '.new'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def set_table(count, drop):
    put('proc/sys/net/netfilter/nf_conntrack_count', f'{count}\n')
    # /proc/net/stat/nf_conntrack: a header and one hex line per CPU; the
    # drops on CPU 0.
    header = ('entries clashres found new invalid ignore delete chainlength insert '
              'insert_failed drop early_drop icmp_error expect_new expect_create '
              'expect_delete search_restart\n')
    cols = [count, 0, 0, 0, 3, 0, 0, 0, 0, 0, drop, drop // 2, 0, 0, 0, 0, 0]
    cpu1 = [count] + [0] * 16
    put('proc/net/stat/nf_conntrack', header + ' '.join(f'{c:08x}' for c in cols) + '\n'
        + ' '.join(f'{c:08x}' for c in cpu1) + '\n')


def exporter(extra=()):
    port = free_port()
    p = subprocess.Popen([ctkit, 'exporter', '--root', tree, '--web.listen-address',
                          f'127.0.0.1:{port}', '--scan-interval', '1',
                          '--history', history, '--history.interval', str(INTERVAL),
                          '--history.retention', '10m', *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    scrape(port, p, timeout=20)  # listening: the history file is open
    return p


def history_run(*args):
    return subprocess.run([ctkit, 'history', *args], capture_output=True, text=True,
                          timeout=60, env=env)


put('proc/sys/net/netfilter/nf_conntrack_max', f'{LIMIT}\n')
put('proc/sys/net/nf_conntrack_max', f'{LIMIT}\n')
set_table(500, 100)

# --- the incident, recorded ---
rec = exporter()
try:
    start = time.time()
    time.sleep(1.2)
    t_high = time.time()
    set_table(920, 100)
    time.sleep(1.2)
    t_full = time.time()
    drop = 100
    for _ in range(8):  # full, dropping: 8 x 0.2 s
        drop += 25
        set_table(LIMIT, drop)
        time.sleep(INTERVAL)
    time.sleep(0.4)
    t_full_end = time.time()
    set_table(950, drop)
    time.sleep(1.2)
    t_low = time.time()
    set_table(500, drop)
    time.sleep(1.2)
    end = time.time()

    # A second recorder on the same file is refused while this one runs.
    second = subprocess.run([ctkit, 'exporter', '--once', '--root', tree, '--history', history,
                             '--history.interval', str(INTERVAL), '--history.retention', '10m'],
                            capture_output=True, text=True, timeout=30)
    expect(second.returncode == 1 and 'another process' in second.stderr,
           f'a second recorder is refused: rc {second.returncode}: {second.stderr}')
finally:
    rc = terminate(rec)
expect(rc == 0, f'the recording exporter stops with 0 on SIGTERM (got {rc})')
total_drops = drop - 100

size = os.path.getsize(history)
expect(size == SLOT * (3000 + 1), f'10 min at 0.2 s: 3000 slots of 1 KiB and a header ({size})')

q = history_run(history, '--from', f'{start - 1:.3f}', '--to', f'{end + 1:.3f}', '--json')
expect(q.returncode == 0, f'history --json exits 0 on an undamaged file: {q.returncode} {q.stderr}')
doc = json.loads(q.stdout) if q.returncode == 0 else {'namespaces': []}
expect(len(doc['namespaces']) == 1, f'one namespace recorded: {doc["namespaces"]!r:.200}')
if doc['namespaces']:
    ns = doc['namespaces'][0]
    expect(ns['samples'] >= 20, f'samples every {INTERVAL} s ({ns["samples"]})')
    slack = 1.0  # one interval, and a loaded machine's scheduling
    high = ns['over_90_percent']['first_crossed']
    expect(high is not None and t_high - 0.05 <= high <= t_high + slack,
           f'90 % first crossed at {high}, the tree changed at {t_high:.2f}')
    full = ns['full']['intervals']
    expect(len(full) == 1, f'one full interval: {full}')
    if full:
        f = full[0]
        expect(t_full - 0.05 <= f['start'] <= t_full + slack,
               f'full from {f["start"]}, the tree filled at {t_full:.2f}')
        expect(t_full_end - slack <= f['end'] <= t_full_end + 0.05,
               f'full to {f["end"]}, the tree stopped being full at {t_full_end:.2f}')
        expect(f['back_under'] is not None and f['back_under'] > f['end'],
               f'back under after: {f}')
        expect(f['drops'] == total_drops, f'{total_drops} drops while full: {f}')
    expect(ns['drops']['drop']['total'] == total_drops,
           f'drop total {ns["drops"]["drop"]["total"]} == {total_drops}')
    expect(ns['drops']['drop']['peak_rate_per_s'] > 0, 'a drop rate')
    expect(ns['peak']['count'] == LIMIT and ns['peak']['max'] == LIMIT, f'peak {ns["peak"]}')
    back = ns['over_90_percent']['intervals']
    expect(back and back[-1]['back_under'] is not None
           and t_low - 0.05 <= back[-1]['back_under'] <= t_low + slack,
           f'under 90 % again at {back and back[-1]["back_under"]}, the tree emptied at {t_low:.2f}')
    expect(ns['at_peak'] is not None and ns['at_peak']['total'] == 200,
           'the scan nearest the peak (the tree holds 200 entries)')
    expect(ns['settings']['first'].get('nf_conntrack_max') == LIMIT, 'the limit in force')

text = history_run(history, '--from', f'{start - 1:.3f}', '--to', f'{end + 1:.3f}')
expect(text.returncode == 0 and 'full from ' in text.stdout and 'first full at' in text.stdout
       and f'drop: {total_drops} packets dropped' in text.stdout,
       f'the text answer says when it was full:\n{text.stdout}{text.stderr}')
at = history_run(history, '--at', time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t_full)) + 'Z')
expect(at.returncode == 0 and 'full from ' in at.stdout, f'--at TIME: {at.stdout}{at.stderr}')

# --- another shape is refused, naming the field ---
other = subprocess.run([ctkit, 'exporter', '--once', '--root', tree, '--history', history,
                        '--history.interval', str(INTERVAL), '--history.retention', '1h'],
                       capture_output=True, text=True, timeout=30)
expect(other.returncode == 1 and 'slot count is 3000' in other.stderr and history in other.stderr,
       f'another retention is refused: rc {other.returncode}: {other.stderr}')
expect(os.path.getsize(history) == size, 'the refused file is untouched')

# --- SIGKILL mid-run: the file still reads, the sequence goes on ---
before = json.loads(history_run(history, '--json').stdout)['read']['samples']
rec = exporter()
time.sleep(1.5)
rec.send_signal(signal.SIGKILL)
rec.wait(timeout=10)
after = history_run(history, '--json')
expect(after.returncode in (0, 1), f'after SIGKILL the file reads: {after.returncode} {after.stderr}')
if after.returncode in (0, 1):
    read = json.loads(after.stdout)['read']
    expect(read['samples'] > before, f'the killed run added samples ({before} -> {read["samples"]})')
    expect(read['bad_slots'] <= 1, f'at most one torn slot after a crash: {read["problems"]}')

# --- damage ---
# The oldest sample is in slot 0, at byte 1024 (after the header); its
# payload starts 16 bytes in (after the sequence, length and CRC) with a
# flags byte and the time: flip a bit of the time.
with open(history, 'r+b') as f:
    f.seek(SLOT + 16 + 3)
    b = f.read(1)
    f.seek(SLOT + 16 + 3)
    f.write(bytes([b[0] ^ 0x01]))
bad = history_run(history)
expect(bad.returncode == 1 and f'offset {SLOT}:' in bad.stdout and 'checksum' in bad.stdout,
       f'a corrupt byte: rc {bad.returncode}, its slot\'s offset reported:\n{bad.stdout[:600]}')
expect('netns unknown:' in bad.stdout, 'and the rest is still answered')
bad_json = json.loads(history_run(history, '--json').stdout)
expect(bad_json['read']['problems'][0]['offset'] == SLOT, f'--json: {bad_json["read"]["problems"]}')

cut = os.path.join(work, 'cut.ctkh')
shutil.copyfile(history, cut)
os.truncate(cut, SLOT * 6 + 10)
trunc = history_run(cut)
expect(trunc.returncode == 1 and f'ends at offset {SLOT * 6 + 10}' in trunc.stdout
       and 'netns unknown:' in trunc.stdout,
       f'a truncated file: rc {trunc.returncode}:\n{trunc.stdout[:600]}{trunc.stderr}')

notes = os.path.join(work, 'notes.txt')
with open(notes, 'w') as f:
    f.write('not a history\n' * 100)
nope = history_run(notes)
expect(nope.returncode == 3 and notes in nope.stderr and 'magic' in nope.stderr,
       f'not a history file: rc {nope.returncode}: {nope.stderr}')
missing = history_run(os.path.join(work, 'missing.ctkh'))
expect(missing.returncode == 3, f'a missing file: rc {missing.returncode}')
when = history_run(history, '--at', 'teatime')
expect(when.returncode == 2 and 'teatime' in when.stderr,
       f'a TIME that does not parse: rc {when.returncode}: {when.stderr}')

shutil.rmtree(work)
print('history: ' + ('ok' if not failures else f'{len(failures)} failure(s)'))
sys.exit(1 if failures else 0)
