// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/device.hpp"

#include <blkid/blkid.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"

namespace diorace {

namespace fs = std::filesystem;

namespace {

std::string sysfs_read(const std::string& path) {
  std::string s;
  if (!try_read_file(path, s)) return "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

dev_t dev_of(const std::string& majmin) {
  unsigned ma = 0, mi = 0;
  if (std::sscanf(majmin.c_str(), "%u:%u", &ma, &mi) != 2) return 0;
  return makedev(ma, mi);
}

// Unescapes mountinfo's octal escapes (\040 for a space).
std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() + 0 && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The transport a disk hangs off, from its name and its sysfs path:
// nvme, virtio, sata (libata), scsi, loop; "" when it is not known.
std::string device_bus(const std::string& sysname, const std::string& sysfs_path) {
  if (sysname.rfind("nvme", 0) == 0) return "nvme";
  if (sysname.rfind("vd", 0) == 0) return "virtio";
  if (sysname.rfind("loop", 0) == 0) return "loop";
  if (sysfs_path.find("/ata") != std::string::npos) return "sata";
  if (sysname.rfind("sd", 0) == 0) return "scsi";
  return "";
}

}  // namespace

BlockDeviceInfo inspect_block_device(const std::string& given, const std::string& option) {
  BlockDeviceInfo d;
  d.given = given;
  std::error_code ec;
  fs::path resolved = fs::canonical(given, ec);
  if (ec) throw UsageError(option + " " + given + ": " + ec.message());
  d.path = resolved.string();
  struct stat st{};
  if (::stat(d.path.c_str(), &st) < 0) throw UsageError(option + " " + given + ": " + std::strerror(errno));
  if (!S_ISBLK(st.st_mode)) throw UsageError(option + " " + given + ": not a block device");
  d.rdev = st.st_rdev;
  std::string sys = "/sys/dev/block/" + std::to_string(major(d.rdev)) + ":" + std::to_string(minor(d.rdev));
  fs::path real = fs::canonical(sys, ec);
  if (!ec) d.sysname = real.filename().string();
  std::string base = "/sys/class/block/" + d.sysname;
  d.size = std::strtoull(sysfs_read(base + "/size").c_str(), nullptr, 10) * 512;
  if (d.size == 0)
    throw UsageError(option + " " + given + ": has no medium (size 0" +
                     (d.sysname.rfind("loop", 0) == 0 ? std::string(": a loop device with no backing file attached)")
                                                      : std::string(")")));
  if (auto lbs = std::strtoul(sysfs_read(base + "/queue/logical_block_size").c_str(), nullptr, 10)) d.logical_block = lbs;
  d.read_only = sysfs_read(base + "/ro").rfind('1', 0) == 0;
  std::string backing = sysfs_read(base + "/loop/backing_file");
  // A partition's model and transport are its disk's.
  std::string disk_base = base;
  if (!ec && fs::exists(base + "/partition")) disk_base = "/sys/class/block/" + real.parent_path().filename().string();
  d.model = !backing.empty() ? "loop over " + backing : sysfs_read(disk_base + "/device/model");
  d.bus = device_bus(d.sysname, ec ? std::string() : real.string());
  if (fs::is_directory(base, ec))
    for (const auto& e : fs::directory_iterator(base, ec))
      if (fs::exists(e.path() / "partition")) d.partitions.push_back(e.path().filename().string());
  return d;
}

std::vector<std::string> device_write_hazards(const BlockDeviceInfo& dev) {
  std::vector<std::string> why;
  // The device and its partitions, by dev_t.
  std::vector<std::pair<dev_t, std::string>> parts = {{dev.rdev, dev.sysname}};
  for (const auto& p : dev.partitions)
    parts.push_back({dev_of(sysfs_read("/sys/class/block/" + p + "/dev")), p});
  auto name_of = [&](dev_t d) -> std::string {
    for (const auto& [x, n] : parts)
      if (x == d) return n == dev.sysname ? "it" : "its partition " + n;
    return "";
  };
  // Mounted?
  std::istringstream mi(sysfs_read("/proc/self/mountinfo"));
  for (std::string line; std::getline(mi, line);) {
    std::istringstream f(line);
    std::string id, parent, majmin, root, point;
    f >> id >> parent >> majmin >> root >> point;
    if (auto n = name_of(dev_of(majmin)); !n.empty()) why.push_back(n + " is mounted at " + unescape(point));
  }
  // Swap?
  std::istringstream sw(sysfs_read("/proc/swaps"));
  std::string line;
  std::getline(sw, line);  // header
  for (; std::getline(sw, line);) {
    std::string file = unescape(line.substr(0, line.find_first_of(" \t")));
    struct stat st{};
    if (::stat(file.c_str(), &st) == 0 && S_ISBLK(st.st_mode))
      if (auto n = name_of(st.st_rdev); !n.empty()) why.push_back(n + " is used as swap (" + file + ")");
  }
  // Held by another device (dm, md, a loop device over it)?
  for (const auto& [d, n] : parts) {
    std::error_code ec;
    for (const auto& h : fs::directory_iterator("/sys/class/block/" + n + "/holders", ec))
      why.push_back((n == dev.sysname ? "it" : "its partition " + n) + " is held by " + h.path().filename().string());
  }
  // Another loop device backed by this device node?
  {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/sys/class/block", ec)) {
      std::string b = sysfs_read(e.path().string() + "/loop/backing_file");
      if (b.empty()) continue;
      struct stat st{};
      if (::stat(b.c_str(), &st) == 0 && S_ISBLK(st.st_mode))
        if (auto n = name_of(st.st_rdev); !n.empty())
          why.push_back(n + " backs " + e.path().filename().string());
    }
  }
  // Signatures (libblkid): filesystem, RAID member, partition table.
  if (blkid_probe pr = blkid_new_probe_from_filename(dev.path.c_str())) {
    blkid_probe_enable_superblocks(pr, 1);
    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_USAGE);
    blkid_probe_enable_partitions(pr, 1);
    blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
    const int probed = blkid_do_safeprobe(pr);
    if (probed == 0) {
      const char* type = nullptr;
      const char* usage = nullptr;
      const char* pttype = nullptr;
      blkid_probe_lookup_value(pr, "TYPE", &type, nullptr);
      blkid_probe_lookup_value(pr, "USAGE", &usage, nullptr);
      blkid_probe_lookup_value(pr, "PTTYPE", &pttype, nullptr);
      if (type) {
        std::string u = usage ? usage : "";
        std::string what = u == "raid" ? "a RAID member signature" : u == "filesystem" ? "a filesystem signature" : "a signature";
        why.push_back("it carries " + what + " (" + type + ")");
      }
      if (pttype) why.push_back(std::string("it carries a partition table (") + pttype + ")");
    } else if (probed == -2) {
      why.push_back("it carries ambivalent signatures (several at once)");
    }
    blkid_free_probe(pr);
  } else {
    why.push_back(std::string("its signatures cannot be read: ") + std::strerror(errno));
  }
  return why;
}

bool require_writable_device(const BlockDeviceInfo& dev, const std::vector<std::string>& forced,
                             const std::string& option) {
  auto hazards = device_write_hazards(dev);
  if (dev.given != dev.path)
    std::fprintf(stderr, "diorace: %s %s is %s (%s, %llu MiB)\n", option.c_str(), dev.given.c_str(), dev.path.c_str(),
                 dev.model.empty() ? "block device" : dev.model.c_str(),
                 static_cast<unsigned long long>(dev.size >> 20));
  bool named = false;
  for (const auto& f : forced) {
    std::error_code ec;
    named = named || (fs::canonical(f, ec) == fs::path(dev.path) && !ec);
  }
  if (hazards.empty()) return named;
  for (const auto& f : forced) {
    std::error_code ec;
    if (fs::canonical(f, ec) == fs::path(dev.path) && !ec) {
      std::fprintf(stderr, "diorace: writing to %s although ", dev.path.c_str());
      for (size_t i = 0; i < hazards.size(); ++i) std::fprintf(stderr, "%s%s", i ? "; " : "", hazards[i].c_str());
      std::fprintf(stderr, " (--force-device %s)\n", f.c_str());
      return true;
    }
  }
  std::string msg = "refusing to write to " + dev.path + (dev.given != dev.path ? " (" + dev.given + ")" : "") + ": ";
  for (size_t i = 0; i < hazards.size(); ++i) msg += (i ? "; " : "") + hazards[i];
  msg += ". Its data would be destroyed: if that is intended, add --force-device " + dev.path;
  throw UsageError(option + ": " + msg);
}

void wipe_signatures(const std::string& device) {
  auto fd = UniqueFd::open(device, O_RDWR | O_CLOEXEC);
  blkid_probe pr = blkid_new_probe();
  if (!pr) throw SetupError("blkid_new_probe failed");
  if (blkid_probe_set_device(pr, fd.get(), 0, 0) != 0) {
    blkid_free_probe(pr);
    throw SetupError("blkid cannot probe " + device);
  }
  blkid_probe_enable_superblocks(pr, 1);
  blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_MAGIC);
  blkid_probe_enable_partitions(pr, 1);
  blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
  while (blkid_do_probe(pr) == 0)
    if (blkid_do_wipe(pr, 0) != 0) break;
  blkid_free_probe(pr);
  ::fsync(fd.get());
}

}  // namespace diorace
