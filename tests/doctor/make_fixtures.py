#!/usr/bin/env python3
"""Writes the doctor's fixture trees (run from this directory).

healthy/ is a complete fake root in which every finding is OK. Every other
directory holds only the files that differ from healthy/; the tests copy
healthy/ and lay the finding's directory over it, so each finding has one
tree that triggers it and the healthy tree that does not.
"""
import os
import shutil

DEFAULTS = {
    "max": 262144, "buckets": 262144, "checksum": 1, "log_invalid": 0,
    "expect_max": 4096, "acct": 0, "events": 2, "timestamp": 0,
    "generic_timeout": 600, "icmp_timeout": 30, "icmpv6_timeout": 30,
    "tcp_timeout_syn_sent": 120, "tcp_timeout_syn_recv": 60,
    "tcp_timeout_established": 432000, "tcp_timeout_fin_wait": 120,
    "tcp_timeout_close_wait": 60, "tcp_timeout_last_ack": 30,
    "tcp_timeout_time_wait": 120, "tcp_timeout_close": 10,
    "tcp_timeout_max_retrans": 300, "tcp_timeout_unacknowledged": 300,
    "tcp_loose": 1, "tcp_be_liberal": 0, "tcp_ignore_invalid_rst": 0,
    "tcp_max_retrans": 3, "udp_timeout": 30, "udp_timeout_stream": 120,
    "frag6_high_thresh": 4194304, "frag6_low_thresh": 3145728,
    "frag6_timeout": 60,
}
STAT_HEADER = ("entries clashres found new invalid ignore delete chainlength "
               "insert insert_failed drop early_drop icmp_error expect_new "
               "expect_create expect_delete search_restart")


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def sysctl(root, name, value):
    write(root, "proc/sys/net/netfilter/nf_conntrack_" + name, f"{value}\n")


def stat(root, entries, cpus):
    """cpus: list of dicts of column -> value, one per CPU."""
    cols = STAT_HEADER.split()
    lines = [STAT_HEADER]
    for c in cpus:
        vals = [entries if k == "entries" else c.get(k, 0) for k in cols]
        lines.append(" ".join(f"{v:08x}" for v in vals))
    write(root, "proc/net/stat/nf_conntrack", "\n".join(lines) + "\n")


def tcp(state, src, dst, sport, dport, timeout, assured=True, unreplied=False):
    s = (f"tcp      6 {timeout} {state} src={src} dst={dst} sport={sport} "
         f"dport={dport} ")
    if unreplied:
        s += "[UNREPLIED] "
    s += f"src={dst} dst={src} sport={dport} dport={sport} "
    if assured:
        s += "[ASSURED] "
    return s + "mark=0 use=1"


def udp(src, dst, sport, dport, timeout, assured, unreplied):
    s = f"udp      17 {timeout} src={src} dst={dst} sport={sport} dport={dport} "
    if unreplied:
        s += "[UNREPLIED] "
    s += f"src={dst} dst={src} sport={dport} dport={sport} "
    if assured:
        s += "[ASSURED] "
    return s + "mark=0 use=1"


def icmp(src, dst, ident, timeout):
    return (f"icmp     1 {timeout} src={src} dst={dst} type=8 code=0 id={ident} "
            f"src={dst} dst={src} type=0 code=0 id={ident} mark=0 use=1")


def healthy_table():
    t = []
    for i in range(120):
        t.append(tcp("ESTABLISHED", f"10.0.0.{i % 50 + 1}", "192.0.2.10",
                     40000 + i, 443, 431000 - i * 100))
    for i in range(30):
        t.append(tcp("TIME_WAIT", f"10.0.0.{i % 50 + 1}", "192.0.2.11",
                     41000 + i, 80, 100 - i))
    for i in range(30):
        t.append(udp(f"10.0.0.{i + 1}", "192.0.2.53", 50000 + i, 53,
                     110 - i, True, False))
    for i in range(10):
        t.append(udp(f"10.0.0.{i + 1}", "192.0.2.54", 51000 + i, 123,
                     25, False, True))
    for i in range(10):
        t.append(icmp(f"10.0.0.{i + 1}", "192.0.2.1", 100 + i, 20))
    return t


def table(root, lines, source="ctnetlink"):
    write(root, "ctkit/conntrack-L.txt",
          f"# source: {source}\n" + "\n".join(lines) + "\n")


def healthy(root):
    for k, v in DEFAULTS.items():
        sysctl(root, k, v)
    t = healthy_table()
    sysctl(root, "count", len(t))
    write(root, "proc/sys/net/nf_conntrack_max", "262144\n")
    write(root, "sys/module/nf_conntrack/parameters/hashsize", "262144\n")
    stat(root, len(t), [{"invalid": 3, "icmp_error": 1}, {"invalid": 2}])
    table(root, t)
    write(root, "proc/meminfo",
          "MemTotal:       24684096 kB\nMemFree:        20000000 kB\n"
          "MemAvailable:   22965508 kB\nBuffers:          100000 kB\n")
    write(root, "proc/slabinfo",
          "slabinfo - version: 2.1\n"
          "# name            <active_objs> <num_objs> <objsize> "
          "<objperslab> <pagesperslab> : tunables <limit> <batchcount> "
          "<sharedfactor> : slabdata <active_slabs> <num_slabs> "
          "<sharedavail>\n"
          "nf_conntrack         200    208    256   16    1 : tunables    0"
          "    0    0 : slabdata     13     13      0\n")
    write(root, "proc/uptime", "86400.00 170000.00\n")
    write(root, "dev/kmsg",
          "6,1,0,-;Linux version 6.18.44 (debian)\n"
          "6,2,1000000,-;Memory: 24000000K/25000000K available\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    for d in os.listdir(here):
        p = os.path.join(here, d)
        if os.path.isdir(p):
            shutil.rmtree(p)
    healthy(os.path.join(here, "healthy"))

    def tree(name):
        return os.path.join(here, name)

    # max-too-low: count at max, drops, the log line.
    r = tree("max-too-low")
    full = [tcp("ESTABLISHED", f"10.1.{i // 250}.{i % 250 + 1}", "192.0.2.10",
                30000 + i % 30000, 443, 430000 - i) for i in range(1000)]
    sysctl(r, "max", 1000)
    write(r, "proc/sys/net/nf_conntrack_max", "1000\n")
    sysctl(r, "count", 1000)
    stat(r, 1000, [{"drop": 0x40, "early_drop": 0}, {"drop": 0x12}])
    table(r, full)
    write(r, "dev/kmsg",
          "6,1,0,-;Linux version 6.18.44 (debian)\n"
          "4,2,86390000000,-;nf_conntrack: nf_conntrack: table full, "
          "dropping packet\n"
          "4,3,86391000000,-;net_ratelimit: 25 callbacks suppressed\n"
          "4,4,86399000000,-;nf_conntrack: nf_conntrack: table full, "
          "dropping packet\n")

    sysctl(tree("tcp-loose"), "tcp_loose", 0)
    sysctl(tree("tcp-max-retrans"), "tcp_max_retrans", 10)

    # hash-size: the runbook's 65536 buckets for max 1,000,000.
    r = tree("hash-size")
    sysctl(r, "max", 1000000)
    write(r, "proc/sys/net/nf_conntrack_max", "1000000\n")
    sysctl(r, "buckets", 65536)
    write(r, "sys/module/nf_conntrack/parameters/hashsize", "65536\n")

    sysctl(tree("udp-timeout"), "udp_timeout_stream", 180)

    r = tree("memory-pressure")
    write(r, "proc/meminfo",
          "MemTotal:       24684096 kB\nMemFree:          300000 kB\n"
          "MemAvailable:     800000 kB\n")
    write(r, "dev/kmsg",
          "6,1,0,-;Linux version 6.18.44 (debian)\n"
          "4,2,80000000000,-;java invoked oom-killer: "
          "gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, "
          "oom_score_adj=0\n"
          "3,3,80000100000,-;Out of memory: Killed process 4242 (java) "
          "total-vm:9000000kB, anon-rss:8000000kB\n")

    r = tree("time-wait-majority")
    t = healthy_table()[:60] + [
        tcp("TIME_WAIT", f"10.0.1.{i % 200 + 1}", "192.0.2.11", 20000 + i,
            80, 119 - i % 120) for i in range(400)]
    table(r, t)
    sysctl(r, "count", len(t))

    r = tree("unreplied-udp-majority")
    t = healthy_table()[:60] + [
        udp(f"10.0.2.{i % 200 + 1}", "198.51.100.53", 30000 + i, 53,
            29 - i % 30, False, True) for i in range(400)]
    table(r, t)
    sysctl(r, "count", len(t))

    r = tree("syn-sent-majority")
    t = healthy_table()[:60] + [
        tcp("SYN_SENT", f"10.0.3.{i % 200 + 1}", "203.0.113.9", 30000 + i,
            8080, 119 - i % 120, assured=False, unreplied=True)
        for i in range(400)]
    table(r, t)
    sysctl(r, "count", len(t))

    r = tree("source-dominating")
    t = healthy_table()[:60] + [
        tcp("ESTABLISHED", "198.51.100.66", f"192.0.2.{i % 200 + 1}",
            10000 + i, 443, 431000) for i in range(400)]
    table(r, t)
    sysctl(r, "count", len(t))

    r = tree("insert-failed-without-drop")
    stat(r, 200, [{"insert_failed": 7, "chainlength": 7}, {"insert_failed": 2,
                                                           "chainlength": 2}])

    r = tree("buckets-far-from-max")
    sysctl(r, "max", 16384)
    write(r, "proc/sys/net/nf_conntrack_max", "16384\n")

    # A kube-proxy node, for the apply warnings.
    write(tree("kube-proxy"), "proc/1234/comm", "kube-proxy\n")

    # Another namespace's table was full 10 s ago; this one (the initial
    # namespace, 200 of 262144) has room. The kernel names the namespace by
    # its inode (measured on 6.18.44: N = stat -L -c %i /run/netns/NAME).
    r = tree("other-netns-full")
    write(r, "dev/kmsg",
          "6,1,0,-;Linux version 6.18.44 (debian)\n"
          "4,2,86389000000,-;nf_conntrack: nf_conntrack: table full in netns "
          "4026532318, dropping packet\n"
          "4,3,86390000000,-;nf_conntrack: nf_conntrack: table full in netns "
          "4026532318, dropping packet\n")
    write(r, "ctkit/netns", "net:[4026531833]\n")
    write(r, "ctkit/netns-names", "4026532318 blue\n")

    # This namespace's table was full 23.7 hours ago (drops since boot),
    # and has room now.
    r = tree("old-table-full")
    write(r, "dev/kmsg",
          "6,1,0,-;Linux version 6.18.44 (debian)\n"
          "4,2,1000000000,-;nf_conntrack: nf_conntrack: table full, "
          "dropping packet\n"
          "4,3,1001000000,-;nf_conntrack: nf_conntrack: table full, "
          "dropping packet\n")
    stat(r, 200, [{"drop": 0x30, "invalid": 3}, {"drop": 0x2}])


if __name__ == "__main__":
    main()
