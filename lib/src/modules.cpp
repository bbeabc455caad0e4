// SPDX-License-Identifier: GPL-2.0-or-later
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <optional>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "diorace/vm.hpp"
#include "guest_protocol.hpp"
#include "vm_internal.hpp"

namespace diorace {

namespace fs = std::filesystem;

namespace {
std::string normalise(std::string n) {
  for (auto& c : n)
    if (c == '-') c = '_';
  return n;
}
}  // namespace

std::vector<ModuleFile> index_modules(const std::string& dir) {
  std::vector<ModuleFile> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    std::string base = it->path().filename().string();
    for (const char* ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
      std::string e(ext);
      if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
        out.push_back({normalise(base.substr(0, base.size() - e.size())), it->path().string()});
        break;
      }
    }
  }
  return out;
}

namespace {
// .modinfo is a sequence of NUL-terminated "key=value" strings.
std::optional<std::string> modinfo_field(const std::string& elf, const std::string& name) {
  const std::string key = name + "=";
  for (size_t pos = elf.find(key); pos != std::string::npos; pos = elf.find(key, pos + 1)) {
    if (pos > 0 && elf[pos - 1] != '\0') continue;
    size_t end = elf.find('\0', pos);
    return elf.substr(pos + key.size(), end - pos - key.size());
  }
  return std::nullopt;
}
}  // namespace

std::vector<std::string> module_softdeps_pre(const std::string& elf) {
  std::vector<std::string> out;
  auto v = modinfo_field(elf, "softdep");
  if (!v) return out;
  bool pre = false;
  size_t s = 0;
  while (s < v->size()) {
    size_t e = v->find(' ', s);
    if (e == std::string::npos) e = v->size();
    std::string w = v->substr(s, e - s);
    if (w == "pre:") pre = true;
    else if (w == "post:") pre = false;
    else if (pre && !w.empty()) out.push_back(normalise(w));
    s = e + 1;
  }
  return out;
}

std::vector<std::string> module_depends(const std::string& elf) {
  if (auto field = modinfo_field(elf, "depends")) {
    const std::string& list = *field;
    std::vector<std::string> deps;
    size_t s = 0;
    while (s < list.size()) {
      size_t c = list.find(',', s);
      if (c == std::string::npos) c = list.size();
      if (c > s) deps.push_back(normalise(list.substr(s, c - s)));
      s = c + 1;
    }
    return deps;
  }
  return {};
}

std::string read_module(const std::string& path) {
  auto ends = [&](const char* e) {
    std::string s(e);
    return path.size() > s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  const char* tool = ends(".xz") ? "xz" : ends(".zst") ? "zstd" : ends(".gz") ? "gzip" : nullptr;
  if (!tool) return read_file(path);
  auto r = run_command({tool, "-dc", path});
  if (!r.ok()) throw SetupError(std::string("cannot decompress ") + path + " with " + tool + ": " + r.output);
  return r.output;
}

namespace detail {

std::string find_first(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "";
  std::vector<std::string> hits;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().rfind(prefix, 0) == 0) hits.push_back(e.path().string());
  std::sort(hits.begin(), hits.end());
  return hits.empty() ? "" : hits.front();
}

// Modules the guest may need, with the config symbol that builds them in.
// A deferred one (a filesystem other than the scratch disk's) is not loaded
// at boot: the guest loads it when it first mounts that type (load_fs_modules
// in the SDK), which saved 3-6 s of each TCG boot that never mounts it.
struct NeededModule {
  std::string name;
  std::string config;
  bool required;
  bool deferred = false;
};

std::vector<NeededModule> needed_modules(const std::string& fs_type, const DiskBus& bus) {
  // The result disk is always virtio-blk; the scratch disk's bus adds its driver.
  std::vector<NeededModule> m = {{"virtio_pci", "CONFIG_VIRTIO_PCI", true},
                                 {"virtio_blk", "CONFIG_VIRTIO_BLK", true},
                                 {"loop", "CONFIG_BLK_DEV_LOOP", false}};
  for (size_t i = 0; i < std::size(bus.modules); ++i)
    if (!bus.modules[i].empty() && bus.modules[i] != "virtio_blk")
      m.push_back({std::string(bus.modules[i]), std::string(bus.configs[i]), true});
  // Both filesystems: the scratch disk needs one, cases that make
  // filesystems on loop devices (dio_wq_teardown fs=xfs) may need the other.
  m.push_back({"ext4", "CONFIG_EXT4_FS", fs_type != "xfs", fs_type == "xfs"});
  m.push_back({"xfs", "CONFIG_XFS_FS", fs_type == "xfs", fs_type != "xfs"});
  // The explorer's filesystem matrix has btrfs too (optional: its variant SKIPs without it).
  m.push_back({"btrfs", "CONFIG_BTRFS_FS", false, true});
  return m;
}

// Copies the needed modules and their dependencies (resolved from each
// module's depends= field) into the initramfs, in load order.
std::vector<std::string> stage_modules(const VmOptions& o, const std::string& modules_dir,
                                       const std::optional<KernelConfig>& cfg, const std::string& dest) {
  auto index = index_modules(modules_dir);
  std::map<std::string, std::string> by_name;
  for (auto& m : index) by_name.emplace(m.name, m.path);
  std::set<std::string> builtin;
  if (!modules_dir.empty()) {
    std::string text;
    for (auto p : {fs::path(modules_dir) / "modules.builtin", fs::path(find_first(modules_dir, "")) / "modules.builtin"})
      if (try_read_file(p.string(), text)) break;
    for (size_t s = 0; s < text.size();) {
      size_t e = text.find('\n', s);
      if (e == std::string::npos) e = text.size();
      std::string line = text.substr(s, e - s);
      auto slash = line.rfind('/');
      std::string base = slash == std::string::npos ? line : line.substr(slash + 1);
      if (base.size() > 3) {
        base.resize(base.size() - 3);
        for (auto& c : base)
          if (c == '-') c = '_';
        builtin.insert(base);
      }
      s = e + 1;
    }
  }
  std::set<std::string> done;
  std::function<void(const std::string&, bool, std::vector<std::string>&)> add =
      [&](const std::string& name, bool required, std::vector<std::string>& order) {
        if (done.count(name)) return;
        done.insert(name);
        // Soft dependencies name aliases ("crypto-crc32c"): try the usual
        // spellings of the module that provides them.
        std::vector<std::string> spellings = {name, name + "_generic"};
        if (name.rfind("crypto_", 0) == 0)
          spellings.insert(spellings.end(), {name.substr(7), name.substr(7) + "_generic"});
        auto it = by_name.end();
        for (const auto& n : spellings)
          if (it == by_name.end()) it = by_name.find(n);
        if (it == by_name.end()) {
          for (const auto& n : spellings)
            if (builtin.count(n)) return;
          if (required)
            std::fprintf(stderr, "diorace vm: module %s not found in '%s' and not known to be built in\n",
                         name.c_str(), modules_dir.c_str());
          return;
        }
        std::string elf = read_module(it->second);
        for (const auto& d : module_softdeps_pre(elf)) add(d, false, order);
        for (const auto& d : module_depends(elf)) add(d, true, order);
        std::string file = fs::path(it->second).filename().string();
        file = file.substr(0, file.find(".ko"));
        write_file(dest + "/" + file + ".ko", elf);
        order.push_back(file);
      };
  const auto needed = needed_modules(o.fs, *find_disk_bus(o.disk_bus));
  std::vector<std::string> order;
  for (const auto& m : needed)
    if (!m.deferred && !(cfg && cfg->enabled(m.config))) add(m.name, m.required, order);
  // Each deferred filesystem's own load order (what boot loaded left out),
  // in dest/fs.TYPE for the guest.
  const auto at_boot = done;
  for (const auto& m : needed) {
    if (!m.deferred || (cfg && cfg->enabled(m.config))) continue;
    done = at_boot;
    std::vector<std::string> own;
    add(m.name, m.required, own);
    std::string text;
    for (const auto& f : own) text += f + "\n";
    if (!own.empty()) write_file(dest + "/fs." + m.name, text);
  }
  return order;
}

}  // namespace detail

}  // namespace diorace
