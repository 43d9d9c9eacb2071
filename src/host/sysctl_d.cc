// Boot-time precedence of sysctl.d and modules-load.d files under a root.
// See sysctl_d.h for the rules and how they were checked.
#include "host/sysctl_d.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "ctkit/tunables.h"

namespace ctkit {
namespace {

// "/a/./b/../c" -> "/a/c"; the result is absolute.
std::string Lexical(const std::string& p) {
  std::vector<std::string> parts;
  std::stringstream in(p);
  std::string c;
  while (std::getline(in, c, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (const auto& x : parts) out += "/" + x;
  return out.empty() ? "/" : out;
}

std::string Parent(const std::string& p) {
  auto s = p.rfind('/');
  return s == 0 || s == std::string::npos ? "/" : p.substr(0, s);
}

std::vector<std::string> ListNames(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// systemd skips ("masks") a file that is /dev/null or empty.
bool NullOrEmpty(const std::string& root, const std::string& target) {
  if (target == "/dev/null") return true;
  struct stat st {};
  if (stat((root + target).c_str(), &st) != 0) return true;
  if (S_ISCHR(st.st_mode)) return true;
  return S_ISREG(st.st_mode) && st.st_size == 0;
}

}  // namespace

std::string ConfFile::Shown() const {
  return target == path ? path : path + " (a link to " + target + ")";
}

std::string ResolveUnderRoot(const std::string& root,
                             const std::string& host_path) {
  std::string p = Lexical(host_path);
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (lstat((root + p).c_str(), &st) != 0) return "";
    if (!S_ISLNK(st.st_mode)) return p;
    char buf[4096];
    ssize_t n = readlink((root + p).c_str(), buf, sizeof buf - 1);
    if (n < 0) return "";
    std::string t(buf, static_cast<size_t>(n));
    if (t == "/dev/null") return t;  // a mask, whatever the root holds
    p = Lexical(t[0] == '/' ? t : Parent(p).append("/").append(t));
  }
  return "";  // a loop
}

std::vector<ConfFile> BootConfFiles(const std::string& root,
                                    const std::vector<std::string>& dirs) {
  std::map<std::string, ConfFile> by_name;  // sorted by file name
  std::set<std::string> seen;               // names taken, masks included
  for (const auto& dir : dirs) {
    // A directory that is a link to one already read (/lib -> /usr/lib)
    // holds the same files; they are masked by name anyway.
    for (const auto& n : ListNames(root + dir)) {
      if (n.size() <= 5 || n.compare(n.size() - 5, 5, ".conf") != 0) continue;
      if (!seen.insert(n).second) continue;
      ConfFile f;
      f.name = n;
      f.path = dir;
      f.path.append("/").append(n);
      f.target = ResolveUnderRoot(root, f.path);
      if (f.target.empty() || NullOrEmpty(root, f.target)) continue;
      struct stat st {};
      if (stat((root + f.target).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        continue;
      by_name[n] = f;
    }
  }
  std::vector<ConfFile> out;
  out.reserve(by_name.size());
  for (auto& [n, f] : by_name) out.push_back(std::move(f));
  return out;
}

std::vector<ConfFile> BootSysctlFiles(const std::string& root) {
  return BootConfFiles(root, {"/etc/sysctl.d", "/run/sysctl.d",
                              "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d"});
}

std::vector<KeySetting> ExactSettings(const std::string& root,
                                      const std::vector<ConfFile>& files,
                                      const std::string& key) {
  std::vector<KeySetting> out;
  for (const auto& f : files) {
    std::stringstream in(ReadText(root + f.target));
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
      ++n;
      auto l = ParseSysctlLine(line);
      if (!l || !*l || (*l)->glob || (*l)->key != key) continue;
      out.push_back({f, n, (*l)->value});
    }
  }
  return out;
}

std::string ModuleLoadedAtBootBy(const std::string& root,
                                 const std::string& module) {
  auto files =
      BootConfFiles(root, {"/etc/modules-load.d", "/run/modules-load.d",
                           "/usr/local/lib/modules-load.d",
                           "/usr/lib/modules-load.d", "/lib/modules-load.d"});
  // modprobe treats '-' and '_' in module names alike.
  auto canon = [](std::string s) {
    std::replace(s.begin(), s.end(), '-', '_');
    return s;
  };
  for (const auto& f : files) {
    std::stringstream in(ReadText(root + f.target));
    std::string line;
    while (std::getline(in, line)) {
      size_t b = line.find_first_not_of(" \t");
      if (b == std::string::npos || line[b] == '#' || line[b] == ';') continue;
      size_t e = line.find_last_not_of(" \t\r");
      if (canon(line.substr(b, e - b + 1)) == canon(module)) return f.Shown();
    }
  }
  return "";
}

}  // namespace ctkit
