#!/usr/bin/env python3
"""Every function that returns a Result<...> (or an Error) is [[nodiscard]],
so that an error cannot be dropped on the floor without a word: the
compiler warns at a call that ignores it (an error under -Werror), and a
call that means to ignore it says so with `(void)` and a comment.

    nodiscard.py ROOT          check include/, src/, tools/, bench/,
                               testing/, fuzz/ and examples/ under ROOT;
                               exit 1 naming each declaration without it
    nodiscard.py --fix ROOT    add the attribute where it is missing
    nodiscard.py --self-test   check this checker on made-up declarations

A declaration is a line that starts (after indentation and `static`,
`virtual`, `inline`, `constexpr`, `explicit`) with the return type
`Result<...>`, `tl::expected<...>` or `Error`, followed by the function's
name and `(` (on the same line or the next). Out-of-line definitions of
members (`Result<X> Class::Name(`) are exempt: the declaration in the class
carries the attribute. Lambdas are not checked.
"""
import os
import re
import sys
import tempfile

DIRS = ['include', 'src', 'tools', 'bench', 'testing', 'fuzz', 'examples']
EXTS = ('.h', '.cc', '.hpp', '.cpp')

DECL = re.compile(
    r'^(?P<indent>[ \t]*)'
    r'(?P<attr>\[\[nodiscard\]\][ \t]*)?'
    r'(?P<spec>(?:(?:static|virtual|inline|constexpr|explicit)[ \t]+)*)'
    r'(?P<type>(?:ctkit::)?(?:Result|tl::expected)<[^;{}()=]*?>'
    r'|(?:ctkit::)?Error)'
    r'\s+(?P<name>(?:[A-Za-z_]\w*::)*[A-Za-z_]\w*)\s*\(',
    re.MULTILINE)


def missing(text):
    """(line number, declaration start) of each declaration without it."""
    out = []
    for m in DECL.finditer(text):
        if m.group('attr') or '::' in m.group('name'):
            continue
        # A comment line that happens to look like one.
        line_start = text.rfind('\n', 0, m.start()) + 1
        if text[line_start:m.start('indent') + len(m.group('indent'))].strip():
            continue
        line = text.count('\n', 0, m.start()) + 1
        out.append((line, m))
    return out


def fix(text):
    result = []
    last = 0
    for _, m in missing(text):
        at = m.start('spec')
        result.append(text[last:at])
        result.append('[[nodiscard]] ')
        last = at
    result.append(text[last:])
    return ''.join(result)


def files(root):
    for d in DIRS:
        top = os.path.join(root, d)
        for dirpath, _, names in os.walk(top):
            for n in sorted(names):
                if n.endswith(EXTS):
                    yield os.path.join(dirpath, n)


def check(root, do_fix=False, quiet=False):
    bad = 0
    for path in files(root):
        with open(path, encoding='utf-8') as f:
            text = f.read()
        found = missing(text)
        if not found:
            continue
        if do_fix:
            with open(path, 'w', encoding='utf-8') as f:
                f.write(fix(text))
            continue
        for line, m in found:
            bad += 1
            if quiet:
                continue
            rel = os.path.relpath(path, root)
            name = m.group('name')
            print(f'{rel}:{line}: {name} returns {m.group("type")} without '
                  f'[[nodiscard]]')
    return bad


def self_test():
    cases = {
        # (text, names reported)
        'Result<void> Load(const std::string& p);\n': ['Load'],
        '[[nodiscard]] Result<void> Load(const std::string& p);\n': [],
        '  static Result<std::unique_ptr<Engine>> Create(\n      int t);\n':
            ['Create'],
        '  [[nodiscard]] static Result<std::unique_ptr<Engine>> Create(\n':
            [],
        '  virtual Result<void> Write(int x) = 0;\n': ['Write'],
        'inline Result<uint64_t> Parse(std::string_view t) {\n': ['Parse'],
        'Result<std::optional<J::Contents>>\nRead(int fd) {\n': ['Read'],
        '  static Error io(std::string m) { return {}; }\n': ['io'],
        'tl::expected<int, Error> Old(int x);\n': ['Old'],
        # Not declarations of a function returning Result:
        'Result<std::string> J::Read() const {\n': [],
        '  Result<void> r = Write(x);\n': [],
        '  Result<Stats> st = fail(Error::corrupt(""));\n': [],
        '  Result<void> r;\n': [],
        '  return Result<void>(fail(e));\n': [],
        '/// Result<void> Load(path) is documented here.\n': [],
        '  // Result<void> Load(path) in a comment.\n': [],
        'std::optional<Error> error_;\n': [],
        'const Error& error() const;\n': [],
        'int Fail(const Error& e);\n': [],
    }
    failures = 0
    for text, want in cases.items():
        got = [m.group('name') for _, m in missing(text)]
        if got != want:
            print(f'self-test: {text!r}: got {got}, want {want}')
            failures += 1
        fixed = fix(text)
        if missing(fixed):
            print(f'self-test: --fix left {fixed!r} unfixed')
            failures += 1
        if want and fixed.count('[[nodiscard]]') != text.count(
                '[[nodiscard]]') + len(want):
            print(f'self-test: --fix of {text!r} gave {fixed!r}')
            failures += 1
    # A tree: one file with a missing attribute fails the check, and --fix
    # makes it pass without touching anything else.
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, 'src', 'x'))
        bad = os.path.join(root, 'src', 'x', 'a.h')
        with open(bad, 'w') as f:
            f.write('// A.\nResult<void> A(int x);\nint B();\n')
        if check(root, quiet=True) != 1:
            print('self-test: a missing attribute in a tree was not found')
            failures += 1
        check(root, do_fix=True)
        with open(bad) as f:
            text = f.read()
        if text != '// A.\n[[nodiscard]] Result<void> A(int x);\nint B();\n':
            print(f'self-test: --fix wrote {text!r}')
            failures += 1
        if check(root, quiet=True) != 0:
            print('self-test: a fixed tree still fails')
            failures += 1
    if failures:
        return 1
    print('nodiscard.py self-test: ok')
    return 0


def main(argv):
    if argv[1:] == ['--self-test']:
        return self_test()
    if len(argv) == 3 and argv[1] == '--fix':
        check(argv[2], do_fix=True)
        return 0
    if len(argv) != 2:
        print(__doc__)
        return 2
    bad = check(argv[1])
    if bad:
        print(f'{bad} declaration(s) returning Result or Error lack '
              '[[nodiscard]] (tests/lint/nodiscard.py --fix ROOT adds it)')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
