// The command line's conventions: `ctkit --version` prints CMake's project
// version; the man pages the build generates (ctkit(1) and one per
// subcommand) name every option the command's --help lists, carry the exit
// codes the commands implement, and render with groff without a warning;
// the generated bash completion is valid bash and completes commands,
// options, files and directories when driven as bash drives it (COMP_WORDS,
// COMP_CWORD); `cmake --install` puts the binary, every page and the
// completion under the prefix. Commands and options are read from
// `ctkit --help` and `ctkit CMD --help`, so a new one is covered with no
// change here.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/cli/cli_test_util.h"

namespace ctkit::clitest {
namespace {

const std::string kManDir = std::string(CTKIT_DOC_DIR) + "/man1";
const std::string kCompletion =
    std::string(CTKIT_DOC_DIR) + "/completion/ctkit";

/// Runs `argv` (argv[0] looked up in PATH) with stdin from /dev/null and
/// stdout/stderr captured in `dir`; exit_code 127 when it could not start.
RunResult RunProgram(const TempDir& dir, const std::vector<std::string>& argv) {
  static int serial = 0;
  const std::string tag = "prog." + std::to_string(++serial);
  const std::string out_path = dir.File(tag + ".out");
  const std::string err_path = dir.File(tag + ".err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  RunResult r;
  pid_t pid = 0;
  int rc =
      posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    r.exited = true;
    r.exit_code = 127;
    r.err = argv[0] + ": " + std::strerror(rc);
    return r;
  }
  if (!WaitForExit(pid, &r)) return r;
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  std::remove(out_path.c_str());
  std::remove(err_path.c_str());
  return r;
}

/// The entries of a --help section ("Subcommands:", "Options:",
/// "Positionals:"): the first word of each line indented by exactly two
/// spaces (wrapped descriptions are indented further).
std::vector<std::string> HelpSection(const std::string& help,
                                     const std::string& title) {
  std::vector<std::string> entries;
  bool in = false;
  for (const std::string& line : Lines(help)) {
    if (!line.empty() && line[0] != ' ') {
      in = line == title;
      continue;
    }
    if (!in || line.size() < 3 || line.compare(0, 2, "  ") != 0 ||
        line[2] == ' ') {
      continue;
    }
    entries.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return entries;
}

std::vector<std::string> Subcommands(const TempDir& dir) {
  RunResult r = RunCtkit(dir, {"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> cmds = HelpSection(r.out, "Subcommands:");
  EXPECT_GE(cmds.size(), 8u) << r.out;
  return cmds;
}

/// Every option name `ctkit CMD --help` lists ("-o", "--output", ...);
/// `ctkit --help`'s for an empty CMD.
std::vector<std::string> HelpOptions(const TempDir& dir,
                                     const std::string& cmd) {
  RunResult r =
      RunCtkit(dir, cmd.empty() ? std::vector<std::string>{"--help"}
                                : std::vector<std::string>{cmd, "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> names;
  for (const std::string& entry : HelpSection(r.out, "Options:")) {
    size_t start = 0;
    while (start <= entry.size()) {
      size_t comma = entry.find(',', start);
      if (comma == std::string::npos) comma = entry.size();
      names.push_back(entry.substr(start, comma - start));
      start = comma + 1;
    }
  }
  EXPECT_FALSE(names.empty()) << r.out;
  return names;
}

std::vector<std::string> HelpPositionals(const TempDir& dir,
                                         const std::string& cmd) {
  return HelpSection(RunCtkit(dir, {cmd, "--help"}).out, "Positionals:");
}

/// How roff source spells an option: hyphens escaped as \-.
std::string Roff(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

/// The lines of section `title` (".SH TITLE" or .SH "TITLE") of a page.
std::string ManSection(const std::string& page, const std::string& title) {
  std::string out;
  bool in = false;
  for (const std::string& line : Lines(page)) {
    if (StartsWith(line, ".SH ")) {
      std::string t = line.substr(4);
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') {
        t = t.substr(1, t.size() - 2);
      }
      in = t == title;
      continue;
    }
    if (in) out += line + "\n";
  }
  return out;
}

/// The exit codes an EXIT STATUS section lists (".TP" / ".B N" / meaning),
/// with their meanings.
std::map<int, std::string> ExitCodes(const std::string& section) {
  std::map<int, std::string> codes;
  std::vector<std::string> lines = Lines(section);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (StartsWith(lines[i], ".B ")) {
      codes[std::stoi(lines[i].substr(3))] = lines[i + 1];
    }
  }
  return codes;
}

std::string PagePath(const std::string& cmd) {
  return kManDir + "/ctkit-" + cmd + ".1";
}

TEST(CliVersion, PrintsCMakeProjectVersion) {
  TempDir dir;
  RunResult r = RunCtkit(dir, {"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, std::string("ctkit ") + CTKIT_PROJECT_VERSION + "\n");
  EXPECT_EQ(r.err, "");
}

TEST(CliExitCodes, UsageErrorIsTwoButUnknownForTheDoctorCheck) {
  // The Monitoring Plugins guidelines (README, doctor's exit codes): a check
  // command says UNKNOWN (3) for bad arguments; the other commands follow
  // conntrack(8): 2.
  TempDir dir;
  RunResult r = RunCtkit(dir, {"doctor", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  r = RunCtkit(dir, {"doctor", "--warn-fill", "lots"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  r = RunCtkit(dir, {"replay", "--no-such-option"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  r = RunCtkit(dir, {"--no-such-option"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
}

TEST(CliManPages, OnePerSubcommandNamingEveryOption) {
  TempDir dir;
  std::string main_page = ReadFile(kManDir + "/ctkit.1");
  ASSERT_FALSE(main_page.empty()) << kManDir << "/ctkit.1 missing";
  for (const std::string& cmd : Subcommands(dir)) {
    SCOPED_TRACE(cmd);
    // ctkit(1) lists the command's page in COMMANDS and SEE ALSO.
    EXPECT_TRUE(Contains(ManSection(main_page, "COMMANDS"),
                         ".BR ctkit\\-" + Roff(cmd) + " (1)"));
    EXPECT_TRUE(Contains(ManSection(main_page, "SEE ALSO"),
                         ".BR ctkit\\-" + Roff(cmd) + " (1)"));
    std::string page = ReadFile(PagePath(cmd));
    ASSERT_FALSE(page.empty()) << PagePath(cmd) << " missing";
    std::string upper = cmd;
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    EXPECT_TRUE(Contains(page, ".TH \"CTKIT\\-" + Roff(upper) + "\" \"1\""));
    std::string options = ManSection(page, "OPTIONS");
    for (const std::string& opt : HelpOptions(dir, cmd)) {
      EXPECT_TRUE(Contains(options, "\\fB" + Roff(opt) + "\\fR"))
          << "option " << opt << " missing from " << PagePath(cmd);
    }
    for (const std::string& pos : HelpPositionals(dir, cmd)) {
      EXPECT_TRUE(Contains(options, "\\fI" + Roff(pos) + "\\fR"))
          << "argument " << pos << " missing from " << PagePath(cmd);
      EXPECT_TRUE(Contains(ManSection(page, "SYNOPSIS"), Roff(pos)));
    }
    // The man(7) sections, in order.
    size_t at = 0;
    for (const char* sh :
         {".SH NAME\n", ".SH SYNOPSIS\n", ".SH DESCRIPTION\n", ".SH OPTIONS\n",
          ".SH \"EXIT STATUS\"\n", ".SH \"SEE ALSO\"\n"}) {
      size_t found = page.find(sh, at);
      EXPECT_NE(found, std::string::npos) << sh << "missing or out of order";
      if (found != std::string::npos) at = found;
    }
    EXPECT_TRUE(
        StartsWith(ManSection(page, "NAME"), "ctkit\\-" + Roff(cmd) + " \\- "));
    EXPECT_GE(ExitCodes(ManSection(page, "EXIT STATUS")).size(), 3u);
  }
  // ctkit(1) itself: the options of `ctkit --help` (--help, --version).
  for (const std::string& opt : HelpOptions(dir, "")) {
    EXPECT_TRUE(
        Contains(ManSection(main_page, "OPTIONS"), "\\fB" + Roff(opt) + "\\fR"))
        << opt;
  }
}

TEST(CliManPages, ExitStatusMatchesWhatTheCommandsReturn) {
  // The codes the issue names for each command.
  auto codes = [](const std::string& cmd) {
    return ExitCodes(ManSection(ReadFile(PagePath(cmd)), "EXIT STATUS"));
  };
  std::map<int, std::string> replay = codes("replay");
  EXPECT_EQ(replay.size(), 4u);
  for (int c : {0, 1, 2, 3}) EXPECT_TRUE(replay.contains(c)) << c;
  // A comparison: 1 is "differ", so an error is 3, never the usage code 2.
  EXPECT_TRUE(Contains(replay[3], "the kernel run failed"));
  std::map<int, std::string> diff = codes("diff");
  ASSERT_EQ(diff.size(), 4u);
  EXPECT_TRUE(Contains(diff[0], "agree"));
  EXPECT_TRUE(Contains(diff[1], "differ"));
  EXPECT_TRUE(Contains(diff[2], "command line was wrong"));
  EXPECT_TRUE(Contains(diff[3], "could not be read"));
  std::map<int, std::string> doctor = codes("doctor");
  ASSERT_EQ(doctor.size(), 4u);
  EXPECT_TRUE(StartsWith(doctor[0], "OK"));
  EXPECT_TRUE(StartsWith(doctor[1], "WARNING"));
  EXPECT_TRUE(StartsWith(doctor[2], "CRITICAL"));
  EXPECT_TRUE(StartsWith(doctor[3], "UNKNOWN"));
  EXPECT_TRUE(Contains(doctor[3], "command line was wrong"));
  std::map<int, std::string> all =
      ExitCodes(ManSection(ReadFile(kManDir + "/ctkit.1"), "EXIT STATUS"));
  EXPECT_EQ(all.size(), 3u);
}

TEST(CliManPages, RenderWithoutGroffWarnings) {
  TempDir dir;
  std::vector<std::string> pages = {"ctkit.1"};
  for (const std::string& cmd : Subcommands(dir)) {
    pages.push_back("ctkit-" + cmd + ".1");
  }
  for (const std::string& page : pages) {
    SCOPED_TRACE(page);
    // -ww: every warning; -z: no output, only the diagnostics.
    RunResult r = RunProgram(
        dir, {"groff", "-man", "-Tutf8", "-ww", "-z", kManDir + "/" + page});
    ASSERT_NE(r.exit_code, 127)
        << "groff not found (Debian package groff-base): " << r.err;
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(r.err, "");
    r = RunProgram(
        dir, {"groff", "-man", "-Tutf8", "-P-cbou", kManDir + "/" + page});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    for (const char* heading : {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                                "EXIT STATUS", "SEE ALSO"}) {
      EXPECT_TRUE(Contains(r.out, std::string("\n") + heading + "\n"))
          << heading << " not rendered";
    }
  }
}

TEST(CliManPages, RegenerationRemovesPagesOfRemovedCommands) {
  TempDir dir;
  WriteFile(dir.File("ctkit-retired.1"), ".TH OLD 1\n");
  WriteFile(dir.File("other-tool.1"), ".TH OTHER 1\n");
  RunResult r = RunCtkit(dir, {"generate-docs", "--man-dir", dir.path()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(std::filesystem::exists(dir.File("ctkit-retired.1")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("other-tool.1")));
  EXPECT_TRUE(std::filesystem::exists(dir.File("ctkit-replay.1")));
  // Hidden: not an operator's command.
  EXPECT_FALSE(std::filesystem::exists(dir.File("ctkit-generate-docs.1")));
}

/// What the completion function puts in COMPREPLY for the command line
/// `words` (the last word is the one being completed), run in `cwd`.
std::vector<std::string> Complete(const TempDir& dir,
                                  const std::vector<std::string>& words,
                                  const std::string& cwd = ".") {
  const std::string driver = dir.File("drive.sh");
  WriteFile(driver,
            "cd \"$1\" || exit 9\n"
            "source \"$2\" || exit 9\n"
            "shift 2\n"
            "spec=$(complete -p ctkit) || exit 8\n"
            "fn=${spec#*-F }\n"
            "fn=${fn%% *}\n"
            "COMP_WORDS=(\"$@\")\n"
            "COMP_CWORD=$(($# - 1))\n"
            "COMP_LINE=\"$*\"\n"
            "COMP_POINT=${#COMP_LINE}\n"
            "COMPREPLY=()\n"
            "\"$fn\" ctkit \"${COMP_WORDS[COMP_CWORD]}\" "
            "\"${COMP_WORDS[COMP_CWORD-1]}\" || exit 7\n"
            "for w in \"${COMPREPLY[@]}\"; do printf '%s\\n' \"$w\"; done\n");
  std::vector<std::string> argv = {"bash", "--norc", "--noprofile",
                                   driver, cwd,      kCompletion};
  argv.insert(argv.end(), words.begin(), words.end());
  RunResult r = RunProgram(dir, argv);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.err, "");
  std::vector<std::string> got = Lines(r.out);
  std::sort(got.begin(), got.end());
  return got;
}

using Words = std::vector<std::string>;

Words Sorted(Words w) {
  std::sort(w.begin(), w.end());
  return w;
}

TEST(CliCompletion, ScriptIsValidBash) {
  TempDir dir;
  RunResult r = RunProgram(dir, {"bash", "-n", kCompletion});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.err, "");
}

TEST(CliCompletion, CompletesCommandsAndOptions) {
  TempDir dir;
  EXPECT_EQ(Complete(dir, {"ctkit", "re"}), Words{"replay"});
  EXPECT_EQ(Complete(dir, {"ctkit", "replay", "--sys"}),
            (Words{"--sysctl", "--sysctl-file"}));
  // Every command --help lists, and no hidden one.
  EXPECT_EQ(Complete(dir, {"ctkit", ""}), Sorted(Subcommands(dir)));
  EXPECT_EQ(Complete(dir, {"ctkit", "--ver"}), Words{"--version"});
  for (const std::string& cmd : Subcommands(dir)) {
    SCOPED_TRACE(cmd);
    Words opts = HelpOptions(dir, cmd);
    EXPECT_EQ(Complete(dir, {"ctkit", cmd, "-"}), Sorted(opts));
    // Options after other options and their values.
    EXPECT_EQ(Complete(dir, {"ctkit", "--help", cmd, "x", "-"}), Sorted(opts));
  }
  EXPECT_EQ(Complete(dir, {"ctkit", "replay", "--sysctl", "nf_conntrack_max=1",
                           "--js"}),
            Words{"--json"});
  // A value that is not a file gets no candidates.
  EXPECT_EQ(Complete(dir, {"ctkit", "replay", "--threads", ""}), Words{});
  // An unknown command gets none.
  EXPECT_EQ(Complete(dir, {"ctkit", "no-such", "--"}), Words{});
}

TEST(CliCompletion, CompletesFilesAndDirectoriesWhereTheyAreExpected) {
  TempDir dir;
  const std::string d = dir.path();
  std::filesystem::create_directory(dir.File("caps"));
  std::filesystem::create_directory(dir.File("caps/old"));
  WriteFile(dir.File("caps/a.pcap"), "");
  WriteFile(dir.File("caps/b.conf"), "");
  const Words all = {"caps/a.pcap", "caps/b.conf", "caps/old"};
  // The capture argument, --sysctl-file, and the value after '='.
  EXPECT_EQ(Complete(dir, {"ctkit", "replay", "caps/"}, d), all);
  EXPECT_EQ(Complete(dir, {"ctkit", "replay", "--sysctl-file", "caps/b"}, d),
            Words{"caps/b.conf"});
  EXPECT_EQ(
      Complete(dir, {"ctkit", "replay", "--sysctl-file", "=", "caps/a"}, d),
      Words{"caps/a.pcap"});
  EXPECT_EQ(Complete(dir, {"ctkit", "diff", "caps/a.pcap", "caps/"}, d), all);
  EXPECT_EQ(Complete(dir, {"ctkit", "gen", "syn-flood", "-o", "caps/a"}, d),
            Words{"caps/a.pcap"});
  // After the capture, replay takes no more arguments.
  EXPECT_EQ(Complete(dir, {"ctkit", "replay", "caps/a.pcap", "caps/"}, d),
            Words{});
  // doctor --root wants a directory.
  EXPECT_EQ(Complete(dir, {"ctkit", "doctor", "--root", "caps/"}, d),
            Words{"caps/old"});
}

TEST(CliInstall, InstallsBinaryManPagesAndCompletion) {
  TempDir dir;
  const std::string prefix = dir.File("prefix");
  RunResult r = RunProgram(dir, {CTKIT_CMAKE_COMMAND, "--install",
                                 CTKIT_BUILD_DIR, "--prefix", prefix});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string bin = prefix + "/bin/ctkit";
  struct stat st {};
  ASSERT_EQ(stat(bin.c_str(), &st), 0) << bin;
  EXPECT_TRUE(st.st_mode & S_IXUSR);
  RunResult v = RunProgram(dir, {bin, "--version"});
  EXPECT_EQ(v.out, std::string("ctkit ") + CTKIT_PROJECT_VERSION + "\n");
  const std::string man1 = prefix + "/share/man/man1/";
  EXPECT_EQ(ReadFile(man1 + "ctkit.1"), ReadFile(kManDir + "/ctkit.1"));
  for (const std::string& cmd : Subcommands(dir)) {
    std::string page = "ctkit-" + cmd + ".1";
    EXPECT_FALSE(ReadFile(man1 + page).empty()) << man1 << page;
    EXPECT_EQ(ReadFile(man1 + page), ReadFile(PagePath(cmd))) << page;
  }
  const std::string completion =
      prefix + "/share/bash-completion/completions/ctkit";
  EXPECT_FALSE(ReadFile(completion).empty()) << completion;
  EXPECT_EQ(ReadFile(completion), ReadFile(kCompletion));
}

}  // namespace
}  // namespace ctkit::clitest
