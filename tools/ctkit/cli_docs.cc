// The command line documents itself. The hidden `ctkit generate-docs`, run
// by the build (CMakeLists.txt), walks the CLI11 App the parser uses —
// subcommands, options, positionals, value types, validators, defaults,
// descriptions, and the exit codes each command documents with
// DocumentExitStatus — and writes ctkit(1), one page ctkit-CMD(1) per
// subcommand in man(7) format, and a bash completion script. Nothing is
// scraped from --help or written by hand, so an option added to a command
// appears in its page and its completion with no other change.
//
// Completion offers files for a value whose type name is FILE and
// directories for DIR (`->type_name("FILE")` at registration); other values
// get no candidates rather than wrong ones. Hidden subcommands and options
// (CLI11 group "") are left out of both. ctkit's subcommands are one level
// deep, and so are the pages.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tools/ctkit/command.h"
#include "tools/ctkit/version.h"

namespace ctkit::cli {
namespace {

std::map<const CLI::App*, std::vector<ExitStatusDoc>>& ExitStatusTable() {
  static std::map<const CLI::App*, std::vector<ExitStatusDoc>> table;
  return table;
}

// ---- What CLI11 knows about a command, in the shape the writers need -----

struct OptionDoc {
  std::vector<std::string> names;  ///< "-o", "--output"; a positional's name
  bool positional = false;
  bool takes_value = false;
  bool repeatable = false;  ///< takes any number of values
  bool required = false;
  std::string metavar;     ///< the value's type name: FILE, UINT, TEXT...
  std::string constraint;  ///< what validators allow, e.g. "UINT in [1 - 64]"
  std::string default_value;
  std::string description;
  std::vector<std::string> needs;     ///< options it needs
  std::vector<std::string> excludes;  ///< options it excludes
};

std::string FirstName(const CLI::Option* o) {
  if (!o->get_lnames().empty()) return "--" + o->get_lnames().front();
  if (!o->get_snames().empty()) return "-" + o->get_snames().front();
  return o->get_single_name();
}

/// The visible options of `cmd`: positionals first, then the others, each
/// group in the order they were added (as --help lists them).
std::vector<OptionDoc> OptionsOf(const CLI::App& cmd) {
  std::vector<OptionDoc> positionals;
  std::vector<OptionDoc> named;
  for (const CLI::Option* o : cmd.get_options()) {
    if (o->get_group().empty()) continue;  // hidden
    OptionDoc d;
    d.positional = !o->nonpositional();
    if (d.positional) {
      d.names.push_back(o->get_single_name());
    } else {
      for (const std::string& s : o->get_snames()) d.names.push_back("-" + s);
      for (const std::string& l : o->get_lnames()) d.names.push_back("--" + l);
    }
    d.takes_value = o->get_items_expected_max() > 0;  // flags: 0
    d.repeatable =
        o->get_expected_max() == CLI::detail::expected_max_vector_size;
    d.required = o->get_required();
    if (d.takes_value) {
      std::string type = o->get_option_text().empty() ? o->get_type_name()
                                                      : o->get_option_text();
      size_t colon = type.find(':');
      d.metavar = type.substr(0, colon);
      if (colon != std::string::npos) d.constraint = type.substr(colon + 1);
      if (d.metavar.empty()) d.metavar = "VALUE";
      d.default_value = o->get_default_str();
    }
    d.description = o->get_description();
    for (const CLI::Option* n : o->get_needs()) d.needs.push_back(FirstName(n));
    for (const CLI::Option* x : o->get_excludes()) {
      d.excludes.push_back(FirstName(x));
    }
    (d.positional ? positionals : named).push_back(std::move(d));
  }
  positionals.insert(positionals.end(), named.begin(), named.end());
  return positionals;
}

/// The visible subcommands of `app`, in registration order.
std::vector<const CLI::App*> CommandsOf(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) {
    return !sub->get_name().empty() && !sub->get_group().empty();
  });
}

/// `app`'s description without a leading "NAME: " (the app's says
/// "ctkit: ..." for --help's first line).
std::string Summary(const CLI::App& app) {
  std::string d = app.get_description();
  std::string prefix = app.get_name() + ": ";
  if (!app.get_name().empty() && d.rfind(prefix, 0) == 0) {
    d = d.substr(prefix.size());
  }
  while (!d.empty() && (d.back() == '.' || d.back() == '\n')) d.pop_back();
  return d;
}

// ---- man(7) --------------------------------------------------------------

/// Text for a roff text line: backslashes, hyphens (as \- so names and
/// options copy as ASCII) and backquotes escaped.
std::string RoffEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\e";
        break;
      case '-':
        out += "\\-";
        break;
      case '`':
        out += "\\(ga";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// One or more roff text lines: each line of `text` escaped, a line that
/// would start with a control character guarded with \&, and each line
/// after the first on a line of its own (.br), as --help shows them.
std::string RoffLines(std::string_view text) {
  std::string out;
  size_t start = 0;
  bool first = true;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!first) {
      size_t lead = line.find_first_not_of(' ');
      line = lead == std::string_view::npos ? std::string_view{}
                                            : line.substr(lead);
      out += ".br\n";
    }
    std::string escaped = RoffEscape(line);
    if (!escaped.empty() && (escaped[0] == '.' || escaped[0] == '\'')) {
      escaped.insert(0, "\\&");
    }
    if (!escaped.empty() || first) out += escaped + "\n";
    first = false;
    start = end + 1;
  }
  return out;
}

std::string Bold(std::string_view s) { return "\\fB" + RoffEscape(s) + "\\fR"; }
std::string Italic(std::string_view s) {
  return "\\fI" + RoffEscape(s) + "\\fR";
}

/// "capture", "[capture]", "capture ..." for the synopsis.
std::string SynopsisPositional(const OptionDoc& d) {
  std::string s = Italic(d.names.front());
  if (d.repeatable) s += " ...";
  return d.required ? s : "[" + s + "]";
}

std::string PageHeader(const std::string& page, const std::string& what) {
  std::string upper = page;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return fmt::format(
      ".\\\" {}(1): {}, generated by `ctkit generate-docs` from the\n"
      ".\\\" command-line definition in tools/ctkit/. Do not edit.\n"
      ".TH \"{}\" \"1\" \"\" \"ctkit {}\" \"ctkit manual\"\n"
      // Names and options are not to be hyphenated or stretched.
      ".nh\n"
      ".ad l\n",
      page, what, RoffEscape(upper), CTKIT_VERSION);
}

std::string OptionsSection(const std::vector<OptionDoc>& options) {
  std::string out = ".SH OPTIONS\n";
  for (const OptionDoc& d : options) {
    out += ".TP\n";
    std::string head;
    for (const std::string& n : d.names) {
      if (!head.empty()) head += ", ";
      head += d.positional ? Italic(n) : Bold(n);
    }
    if (!d.positional && d.takes_value) head += " " + Italic(d.metavar);
    if (d.repeatable) head += " ...";
    out += head + "\n";
    std::vector<std::string> notes;
    if (d.positional && d.takes_value && d.metavar != "TEXT") {
      notes.push_back(d.metavar);
    }
    if (d.required) notes.push_back("required");
    if (!d.constraint.empty()) notes.push_back(d.constraint);
    if (!d.default_value.empty()) {
      notes.push_back("default: " + d.default_value);
    }
    for (const std::string& n : d.needs) notes.push_back("needs " + n);
    for (const std::string& x : d.excludes) notes.push_back("excludes " + x);
    std::string text = d.description;
    if (!notes.empty()) {
      std::string joined;
      for (const std::string& n : notes) {
        joined += (joined.empty() ? "" : "; ") + n;
      }
      // After a multi-line description (a list), on a line of its own.
      const char* sep = text.empty()                           ? ""
                        : text.find('\n') == std::string::npos ? " "
                                                               : "\n";
      text += sep + ("(" + joined + ")");
    }
    out += RoffLines(text);
  }
  return out;
}

std::string ExitStatusSection(const CLI::App& cmd) {
  const std::vector<ExitStatusDoc>& codes = DocumentedExitStatus(cmd);
  if (codes.empty()) return "";
  std::string out = ".SH \"EXIT STATUS\"\n";
  for (const ExitStatusDoc& c : codes) {
    out += fmt::format(".TP\n.B {}\n", c.code) + RoffLines(c.meaning);
  }
  return out;
}

std::string CommandPage(const CLI::App& app, const CLI::App& cmd) {
  const std::string page = app.get_name() + "-" + cmd.get_name();
  std::vector<OptionDoc> options = OptionsOf(cmd);
  std::string out = PageHeader(page, "one ctkit command");
  out += ".SH NAME\n" + RoffEscape(page) + " \\- " + RoffLines(Summary(cmd));
  out += ".SH SYNOPSIS\n";
  out += Bold(app.get_name() + " " + cmd.get_name()) + "\n";
  for (const OptionDoc& d : options) {
    if (d.positional || !d.required) continue;
    std::string s = Bold(d.names.front());
    if (d.takes_value) s += " " + Italic(d.metavar);
    out += s + "\n";
  }
  out += "[\\fIOPTIONS\\fR]\n";
  for (const OptionDoc& d : options) {
    if (d.positional) out += SynopsisPositional(d) + "\n";
  }
  out += ".SH DESCRIPTION\n" + RoffLines(Summary(cmd) + ".");
  out += OptionsSection(options);
  out += ExitStatusSection(cmd);
  out += ".SH \"SEE ALSO\"\n.BR " + RoffEscape(app.get_name()) + " (1)\n";
  return out;
}

std::string MainPage(const CLI::App& app) {
  const std::string& name = app.get_name();
  std::string out = PageHeader(name, "the command and its subcommands");
  out += ".SH NAME\n" + RoffEscape(name) + " \\- " + RoffLines(Summary(app));
  out += ".SH SYNOPSIS\n" + Bold(name) + "\n";
  out += "[\\fIOPTIONS\\fR]\n\\fICOMMAND\\fR\n[\\fIARGS\\fR]\n";
  out += ".SH DESCRIPTION\n" + RoffLines(Summary(app) + ".");
  out +=
      ".PP\nEach command has its own page, named below, and prints its "
      "options with " +
      Bold(name) + " " + Italic("COMMAND") + " " + Bold("--help") + ".\n";
  out += ".SH COMMANDS\n";
  for (const CLI::App* sub : CommandsOf(app)) {
    out += ".TP\n.BR " + RoffEscape(name + "-" + sub->get_name()) + " (1)\n";
    out += RoffLines(Summary(*sub) + ".");
  }
  out += OptionsSection(OptionsOf(app));
  out += ExitStatusSection(app);
  out += ".SH \"SEE ALSO\"\n";
  for (const CLI::App* sub : CommandsOf(app)) {
    out += ".BR " + RoffEscape(name + "-" + sub->get_name()) + " (1),\n";
  }
  out += ".BR conntrack (8)\n";
  return out;
}

// ---- bash completion -----------------------------------------------------

/// A single-quoted bash word.
std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

/// How a value completes: FILE, DIR or - (no candidates).
std::string ValueKind(const OptionDoc& d) {
  if (d.metavar == "FILE" || d.metavar == "DIR") return d.metavar;
  return "-";
}

/// The case arm that sets a command's option lists and positional kinds.
std::string CompletionArm(const std::string& pattern, const CLI::App& cmd) {
  std::vector<std::string> opts, values, files, dirs, pos;
  bool pos_repeat = false;
  for (const OptionDoc& d : OptionsOf(cmd)) {
    if (d.positional) {
      pos.push_back(ValueKind(d));
      pos_repeat = d.repeatable;
      continue;
    }
    for (const std::string& n : d.names) {
      opts.push_back(n);
      if (!d.takes_value) continue;
      values.push_back(n);
      if (ValueKind(d) == "FILE") files.push_back(n);
      if (ValueKind(d) == "DIR") dirs.push_back(n);
    }
  }
  return fmt::format(
      "    {})\n"
      "        opts={}\n"
      "        values={}\n"
      "        files={}\n"
      "        dirs={}\n"
      "        pos=({})\n"
      "        pos_repeat={}\n"
      "        ;;\n",
      pattern, ShellQuote(Join(opts)), ShellQuote(Join(values)),
      ShellQuote(Join(files)), ShellQuote(Join(dirs)), Join(pos),
      pos_repeat ? 1 : 0);
}

std::string BashCompletion(const CLI::App& app) {
  const std::string& name = app.get_name();
  std::vector<std::string> commands;
  std::string arms = CompletionArm("''", app);
  for (const CLI::App* sub : CommandsOf(app)) {
    commands.push_back(sub->get_name());
    arms += CompletionArm(ShellQuote(sub->get_name()), *sub);
  }
  // The script is a template: @NAME@ and the generated parts are filled in
  // below. Bash splits "--opt=value" into three words at the '='.
  std::string script =
      R"(# bash completion for @NAME@ @VERSION@, generated by `@NAME@ generate-docs`
# from the command-line definition in tools/ctkit/. Do not edit.

# Sets the caller's opts, values (options that take a value), files and
# dirs (values that are files, directories), pos (what each positional
# argument is: FILE, DIR or -) and pos_repeat for command $1 ('' for
# @NAME@ itself). Fails for an unknown command.
_@FN@_command() {
    case $1 in
@ARMS@    *) return 1 ;;
    esac
}

# Candidates for the current word from compgen $1 (-f files, -d dirs).
_@FN@_paths() {
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen "$1" -- "$cur")
}

_@FN@() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd= valopt= w i npos=0
    local opts values files dirs pos_repeat
    local -a pos
    local commands=@COMMANDS@
    COMPREPLY=()
    [[ $cur == = ]] && cur=
    _@FN@_command '' || return 0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        [[ $w == = ]] && continue
        if [[ -n $valopt ]]; then
            valopt=
            continue
        fi
        if [[ $w == -* ]]; then
            [[ " $values " == *" $w "* ]] && valopt=$w
        elif [[ -z $cmd ]]; then
            cmd=$w
            _@FN@_command "$cmd" || return 0
        else
            ((npos++))
        fi
    done
    if [[ -n $valopt ]]; then
        if [[ " $files " == *" $valopt "* ]]; then
            _@FN@_paths -f
        elif [[ " $dirs " == *" $valopt "* ]]; then
            _@FN@_paths -d
        fi
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    elif [[ -z $cmd ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
    else
        local kind=${pos[npos]-}
        if [[ -z $kind && $pos_repeat == 1 && ${#pos[@]} -gt 0 ]]; then
            kind=${pos[${#pos[@]} - 1]}
        fi
        case $kind in
            FILE) _@FN@_paths -f ;;
            DIR) _@FN@_paths -d ;;
        esac
    fi
    return 0
}

complete -F _@FN@ @NAME@
)";
  std::string fn = name;
  std::replace(fn.begin(), fn.end(), '-', '_');
  auto replace_all = [&script](const std::string& from, const std::string& to) {
    for (size_t at = script.find(from); at != std::string::npos;
         at = script.find(from, at + to.size())) {
      script.replace(at, from.size(), to);
    }
  };
  replace_all("@ARMS@", arms);
  replace_all("@COMMANDS@", ShellQuote(Join(commands)));
  replace_all("@VERSION@", CTKIT_VERSION);
  replace_all("@FN@", fn);
  replace_all("@NAME@", name);
  return script;
}

// ---- Writing -------------------------------------------------------------

/// Writes `data` to `path` through a temporary file renamed over it, so a
/// reader never sees half a page.
bool WriteAtomically(const std::filesystem::path& path,
                     const std::string& data) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  bool ok = f != nullptr &&
            std::fwrite(data.data(), 1, data.size(), f) == data.size();
  int err = errno;
  if (f != nullptr && std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    std::remove(tmp.c_str());
    PrintError(
        fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
  }
  return ok;
}

bool MakeDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    PrintError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
    return false;
  }
  return true;
}

/// Writes every page into `dir` and removes pages of commands that no
/// longer exist (so an install never ships a stale one).
bool WriteManPages(const CLI::App& app, const std::filesystem::path& dir) {
  if (!MakeDirectory(dir)) return false;
  std::set<std::string> written;
  const std::string main_page = app.get_name() + ".1";
  if (!WriteAtomically(dir / main_page, MainPage(app))) return false;
  written.insert(main_page);
  for (const CLI::App* sub : CommandsOf(app)) {
    std::string file = app.get_name() + "-" + sub->get_name() + ".1";
    if (!WriteAtomically(dir / file, CommandPage(app, *sub))) return false;
    written.insert(file);
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (file.rfind(app.get_name() + "-", 0) == 0 && file.ends_with(".1") &&
        !written.contains(file)) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  return true;
}

struct DocsFlags {
  std::string man_dir;
  std::string completion;
};

int GenerateDocs(const CLI::App& app, const DocsFlags& f) {
  if (f.man_dir.empty() && f.completion.empty()) {
    return UsageError(
        "nothing to write: give --man-dir and/or --bash-completion");
  }
  if (!f.man_dir.empty() && !WriteManPages(app, f.man_dir)) {
    return kExitFailure;
  }
  if (!f.completion.empty()) {
    std::filesystem::path path(f.completion);
    if (path.has_parent_path() && !MakeDirectory(path.parent_path())) {
      return kExitFailure;
    }
    if (!WriteAtomically(path, BashCompletion(app))) return kExitFailure;
  }
  return kExitOk;
}

}  // namespace

void DocumentExitStatus(CLI::App* cmd, std::vector<ExitStatusDoc> codes) {
  std::string footer = "Exit status:";
  for (const ExitStatusDoc& c : codes) {
    footer += fmt::format("\n  {}  {}", c.code, c.meaning);
  }
  cmd->footer(footer);
  ExitStatusTable()[cmd] = std::move(codes);
}

const std::vector<ExitStatusDoc>& DocumentedExitStatus(const CLI::App& cmd) {
  static const std::vector<ExitStatusDoc> kNone;
  auto it = ExitStatusTable().find(&cmd);
  return it == ExitStatusTable().end() ? kNone : it->second;
}

int UsageExitCode(const CLI::App& app) {
  int code = kExitUsage;
  const CLI::App* at = &app;
  while (at != nullptr) {
    for (const ExitStatusDoc& c : DocumentedExitStatus(*at)) {
      if (c.usage) code = c.code;
    }
    std::vector<const CLI::App*> parsed =
        at->get_subcommands([](const CLI::App* sub) { return sub->parsed(); });
    at = parsed.empty() ? nullptr : parsed.front();
  }
  return code;
}

void RegisterGenerateDocs(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<DocsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "generate-docs",
      "Write the man pages and the bash completion script from this command "
      "line's own definition (run by the build)");
  cmd->group("");  // hidden: not a command for operators
  cmd->add_option("--man-dir", flags->man_dir,
                  "write ctkit.1 and ctkit-COMMAND.1 into DIR")
      ->type_name("DIR");
  cmd->add_option("--bash-completion", flags->completion,
                  "write the bash completion script to FILE")
      ->type_name("FILE");
  const CLI::App* root = &app;
  cmd->callback(
      [root, flags, exit_code] { *exit_code = GenerateDocs(*root, *flags); });
}

}  // namespace ctkit::cli
