#!/usr/bin/env python3
"""The HTML reports, opened in a real browser with no network.

    render.py CTKIT SOURCE_DIR          the test (CTest: html_reports)
    render.py --shoot HTML PNG [WIDTH HEIGHT]
                                        one page to a PNG (make screenshots)

For each report (replay, whatif, plan, doctor) the test writes it with
`--html`, then checks that the page can open offline: no script, no
external style sheet, font, image or frame, and a Content-Security-Policy
of default-src 'none' (the browser would refuse any fetch). It then renders
the page in headless Chromium (Debian's chromium) with every host name
unresolvable and a dead proxy, so that a page needing the network would
show nothing of it, and asserts what the browser made of it:
  - its DOM after loading (--dump-dom) holds every chart the file holds,
    each with its <title> and <desc> (the text alternative);
  - the screenshot is a PNG of the window's size whose pixels show the
    charts' first colour (the count line's blue, #0072b2), the limit's
    red (#b00020) where there is a limit, and are not one flat colour.
Exits 0 when every report passes, 1 with the reason otherwise.
"""
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')


def chromium_args(profile):
    return [CHROMIUM, '--headless=new', '--no-sandbox', '--disable-gpu',
            '--hide-scrollbars', '--no-first-run', '--disable-extensions',
            '--disable-background-networking', '--disable-sync',
            f'--user-data-dir={profile}',
            # No network: every name fails to resolve and any proxied
            # fetch goes to a closed port.
            '--host-resolver-rules=MAP * ~NOTFOUND',
            '--proxy-server=127.0.0.1:9']


def shoot(html, png, width=1100, height=1600):
    """Renders `html` to `png`; returns chromium's result."""
    profile = tempfile.mkdtemp(prefix='ctkit-chromium-')
    try:
        return subprocess.run(
            chromium_args(profile) + [f'--window-size={width},{height}',
                                      f'--screenshot={png}',
                                      'file://' + os.path.abspath(html)],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def dump_dom(html):
    profile = tempfile.mkdtemp(prefix='ctkit-chromium-')
    try:
        r = subprocess.run(
            chromium_args(profile) + ['--dump-dom',
                                      'file://' + os.path.abspath(html)],
            capture_output=True, text=True, timeout=120)
        return r.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise ValueError(f'{path}: not a PNG')
    pos, idat, width = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width, height, depth, colour = struct.unpack('>IIBB', body[:10])
            if depth != 8 or colour not in (2, 6):
                raise ValueError(f'{path}: depth {depth} colour {colour}')
            channels = 3 if colour == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, channels)])
        prev = line
    return width, height, rows


EXTERNAL = [
    (r'<script', 'a script'),
    (r'<link\b', 'a <link> (style sheet, font or icon)'),
    (r'@import', 'a CSS @import'),
    (r'url\(', 'a CSS url()'),
    (r'<(img|iframe|object|embed|video|audio)\b', 'an embedded resource'),
    (r'\b(src|href)\s*=\s*["\']?\s*(https?:|//|file:)', 'an external address'),
]


def check_report(name, html, workdir, has_limit=True):
    errors = []
    text = open(html, encoding='utf-8').read()
    for pattern, what in EXTERNAL:
        m = re.search(pattern, text, re.I)
        if m:
            errors.append(f'{name}: {what} at offset {m.start()}')
    if "default-src 'none'" not in text:
        errors.append(f'{name}: no Content-Security-Policy default-src none')
    charts = text.count('<svg')
    if charts == 0 and name != 'doctor':
        errors.append(f'{name}: no chart in the page')
    dom = dump_dom(html)
    if dom.count('<svg') != charts:
        errors.append(f'{name}: the browser built {dom.count("<svg")} charts '
                      f'of the {charts} in the file')
    for svg in re.findall(r'<svg.*?</svg>', dom, re.S):
        if not re.search(r'<title>[^<]+</title>\s*<desc>[^<]{20,}</desc>',
                         svg):
            errors.append(f'{name}: a chart without its title and text '
                          'alternative')
    png = os.path.join(workdir, name + '.png')
    r = shoot(html, png)
    if r.returncode != 0 or not os.path.exists(png):
        errors.append(f'{name}: chromium failed ({r.returncode}): '
                      f'{r.stderr[-500:]}')
        return errors
    width, height, rows = png_pixels(png)
    if (width, height) != (1100, 1600):
        errors.append(f'{name}: screenshot is {width}x{height}')
    colours = set()
    blue = red = False
    for row in rows:
        colours.update(row)
    # Lines are anti-aliased: a thin one is white-blended, so the test
    # looks for the hue. The limit's #b00020 blended with white keeps blue
    # above green (b - g = 32 of 255 at full strength), which the orange
    # pen and bars (#d55e00, #e69f00) and the dark red text (#8a1c00) never
    # do, and red far above blue, which the pink pen (#cc79a7) does not.
    blue = any(b - r > 100 and b > g for r, g, b in colours)
    red = any(r - g > 60 and b > g + 10 and r > b + 60
              for r, g, b in colours)
    if len(colours) < 50:
        errors.append(f'{name}: the page rendered {len(colours)} colours: '
                      'blank?')
    if charts and not blue:
        errors.append(f'{name}: no chart line (#0072b2) in the screenshot')
    if charts and has_limit and not red:
        errors.append(f'{name}: no limit line (#b00020) in the screenshot')
    print(f'{name}: {len(text)} bytes, {charts} charts, '
          f'{len(colours)} colours in {width}x{height}', flush=True)
    return errors


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if r.returncode != 0:
        raise SystemExit(f'FAIL: {" ".join(cmd)} exited {r.returncode}:\n'
                         f'{r.stderr[-2000:]}')
    return r


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == '--shoot':
        size = [int(v) for v in sys.argv[4:6]] or [1100, 1600]
        r = shoot(sys.argv[2], sys.argv[3], *size)
        sys.stderr.write(r.stderr if r.returncode else '')
        return r.returncode
    ctkit, src = sys.argv[1], sys.argv[2]
    if CHROMIUM is None:
        print('FAIL: chromium is not installed (make deps installs it)')
        return 1
    work = tempfile.mkdtemp(prefix='ctkit-html-')
    try:
        cap = os.path.join(work, 'mixed.pcap')
        run([ctkit, 'gen', 'mixed', '--flows', '6000', '--rate', '2000',
             '--seed', '7', '-o', cap])
        small = ['--sysctl', 'net.netfilter.nf_conntrack_max=1024',
                 '--sysctl', 'net.netfilter.nf_conntrack_buckets=1024']
        pages = {}
        pages['replay'] = os.path.join(work, 'replay.html')
        r = run([ctkit, 'replay', cap, '--no-progress', '--html',
                 pages['replay']] + small)
        if 'wrote the HTML report to ' + pages['replay'] not in r.stderr:
            raise SystemExit('FAIL: replay did not say where the report is')
        pages['whatif'] = os.path.join(work, 'whatif.html')
        run([ctkit, 'whatif', cap, '--no-progress', '--html',
             pages['whatif'], '--vary',
             'nf_conntrack_max=1024,4096,16384', '--adaptive', '60,100']
            + small)
        pages['plan'] = os.path.join(work, 'plan.html')
        run([ctkit, 'plan', '--memory', '64M', '--cpus', '8', '--ram', '16G',
             '--rate', '2000', '--html', pages['plan']])
        pages['doctor'] = os.path.join(work, 'doctor.html')
        subprocess.run([ctkit, 'doctor', '--root',
                        os.path.join(src, 'tests/doctor/max-too-low'),
                        '--html', pages['doctor']],
                       capture_output=True, timeout=60)
        errors = []
        for name, html in pages.items():
            if not os.path.exists(html):
                errors.append(f'{name}: {html} was not written')
                continue
            errors += check_report(name, html, work,
                                   has_limit=name != 'doctor')
        # The whatif page says the adaptive variant is not Linux, in the
        # chart's legend and in the table.
        w = open(pages['whatif'], encoding='utf-8').read()
        legend = re.findall(r'<text[^>]*>([^<]*adaptive[^<]*)</text>', w)
        if not legend or 'NOT Linux' not in legend[0]:
            errors.append('whatif: the adaptive variant\'s legend does not '
                          f'say it is not Linux: {legend}')
        if 'NOT a Linux setting' not in w:
            errors.append('whatif: the adaptive row is not labelled')
        # Writing over a report keeps the old one as FILE~.
        before = open(pages['replay'], 'rb').read()
        run([ctkit, 'replay', cap, '--no-progress', '--html',
             pages['replay']])
        if open(pages['replay'] + '~', 'rb').read() != before:
            errors.append('replay: the previous report was not kept as ~')
        # A report that cannot be written: a clear error, non-zero exit.
        bad = subprocess.run([ctkit, 'replay', cap, '--no-progress',
                              '--html', os.path.join(work, 'no/such/dir.html')],
                             capture_output=True, text=True, timeout=120)
        if bad.returncode == 0 or 'no/such/dir.html' not in bad.stderr:
            errors.append('replay: an unwritable --html path was not an '
                          f'error naming it ({bad.returncode}: {bad.stderr})')
        for e in errors:
            print('FAIL:', e)
        return 1 if errors else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
