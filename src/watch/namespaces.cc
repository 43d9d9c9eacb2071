// Finding the host's network namespaces (see namespaces.h).
#include "watch/namespaces.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "core/text.h"

namespace ctkit::watch {
namespace {

bool InodeOf(const std::string& path, uint64_t* inode) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return false;
  *inode = st.st_ino;
  return true;
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = readdir(d)) {
    const std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

}  // namespace

std::string NetnsName(uint64_t inode, const std::string& run_netns) {
  for (const std::string& name : Entries(run_netns)) {
    std::string path = run_netns;
    path.append("/").append(name);
    uint64_t i = 0;
    if (InodeOf(path, &i) && i == inode) return name;
  }
  return "";
}

std::vector<NetnsRef> ListNetworkNamespaces(const std::string& proc,
                                            const std::string& run_netns) {
  std::map<uint64_t, NetnsRef> by_inode;
  for (const std::string& name : Entries(run_netns)) {
    NetnsRef r;
    r.path = run_netns;
    r.path.append("/").append(name);
    if (!InodeOf(r.path, &r.inode)) continue;
    r.name = name;
    by_inode.emplace(r.inode, r);
  }
  // Processes, lowest PID first so each namespace keeps its first one.
  std::vector<int> pids;
  for (const std::string& e : Entries(proc)) {
    if (auto pid = ToU64(e); pid && *pid > 0 && *pid < (1u << 30)) {
      pids.push_back(static_cast<int>(*pid));
    }
  }
  std::sort(pids.begin(), pids.end());
  for (int pid : pids) {
    std::string dir = proc;
    dir.append("/").append(std::to_string(pid));
    const std::string ns = dir + "/ns/net";
    uint64_t inode = 0;
    if (!InodeOf(ns, &inode)) continue;  // gone, or not ours to read
    NetnsRef& r = by_inode[inode];
    if (r.pid != 0) continue;
    r.inode = inode;
    r.pid = pid;
    if (r.path.empty()) r.path = ns;
    std::ifstream comm(dir + "/comm");
    std::getline(comm, r.comm);
  }
  uint64_t own = 0;
  if (InodeOf(proc + "/self/ns/net", &own)) {
    if (auto it = by_inode.find(own); it != by_inode.end())
      it->second.own = true;
  }
  std::vector<NetnsRef> out;
  out.reserve(by_inode.size());
  for (auto& [inode, r] : by_inode) out.push_back(std::move(r));
  return out;
}

}  // namespace ctkit::watch
