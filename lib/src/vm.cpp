// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/vm.hpp"
#include "diorace/contention.hpp"
#include "diorace/params.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "diorace/run_args.hpp"
#include "diorace/guest.hpp"
#include "diorace/emulator.hpp"
#include "diorace/distro.hpp"
#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/kconfig.hpp"
#include "diorace/outcome.hpp"
#include "diorace/outfile.hpp"
#include "diorace/process.hpp"
#include "diorace/registry.hpp"
#include "diorace/runner.hpp"
#include "diorace/tempdir.hpp"
#include "guest_protocol.hpp"
#include "vm_internal.hpp"

namespace diorace {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr int64_t kResultDiskSize = 16 << 20;

void make_sparse(const std::string& path, int64_t size) {
  auto fd = UniqueFd::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (::ftruncate(fd.get(), size) < 0) throw_errno("truncate " + path);
}

// Everything the guest needs is found here, once, with a clear error.
std::string static_binary() {
  if (const char* p = std::getenv("DIORACE_STATIC_BIN"); p && *p) return p;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  for (auto cand : {self.parent_path() / "diorace-static", self.parent_path() / "../libexec/diorace/diorace-static"})
    if (fs::exists(cand, ec)) return cand.string();
  throw SetupError("no static diorace binary (build target diorace-static, or set DIORACE_STATIC_BIN)");
}

std::string busybox_path() {
  for (const char* p : {"/bin/busybox", "/usr/bin/busybox"})
    if (::access(p, X_OK) == 0) return p;
  throw SetupError("busybox not found: install the busybox-static package");
}

// Copies a host program and the shared libraries `ldd` names for it into the
// initramfs at the same paths (mkfs.ext4 and mkfs.xfs for the cases that make
// filesystems in the guest: busybox's mke2fs cannot make ext4).
bool stage_program(const std::string& root, const std::string& name) {
  std::string path;
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"})
    if (::access((std::string(dir) + name).c_str(), X_OK) == 0) {
      path = std::string(dir) + name;
      break;
    }
  if (path.empty()) return false;
  fs::create_directories(root + "/usr/sbin");
  fs::copy_file(path, root + "/usr/sbin/" + name, fs::copy_options::overwrite_existing);
  auto r = run_command({"ldd", path});
  static const std::regex lib(R"((/[^ \t]+\.so[^ \t]*) \(0x)");
  for (auto it = std::sregex_iterator(r.output.begin(), r.output.end(), lib); it != std::sregex_iterator(); ++it) {
    std::string so = (*it)[1];
    std::string dest = root + so;
    std::error_code ec;
    fs::create_directories(fs::path(dest).parent_path(), ec);
    fs::copy_file(so, dest, fs::copy_options::skip_existing, ec);
  }
  return true;
}

// The guest's init: mounts, the kernel's modules, then its own part.
constexpr const char* kInitStart = R"(#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo "diorace-guest: $(uname -r) loading modules"
for m in $(cat /modules.order); do insmod /modules/$m.ko || echo "diorace-guest: insmod $m failed"; done
)";

// `diorace vm`: wait for the disks, run the cases, power off.
const std::string kInit = std::string(kInitStart) + R"(for d in $(cat /devices); do
  i=0
  while [ ! -b $d ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
  [ -b $d ] || echo "diorace-guest: no $d"
done
echo "diorace-guest: starting"
DIORACE_GUEST=1 /diorace guest-run
echo "diorace-guest: exit $?"
sync
poweroff -f
)";

// A LAVA job: a shell on the console for LAVA's test shell (LAVA appends
// its overlay to the cpio and waits for the prompt).
const std::string kLavaInit = std::string(kInitStart) + R"(ln -sf /diorace /bin/diorace
export DIORACE_GUEST=1 PS1='diorace-guest# ' HOME=/root
mkdir -p /root
echo "diorace-guest: $(uname -r) ready"
exec setsid cttyhack sh -l
)";

// KVM is probed once per host kernel and qemu build: it fails here in ways
// that abort, die with an emulation failure, or spin without output.
std::string kvm_unusable(const std::string& image, const std::string& initrd) {
  int err = 0;
  auto fd = UniqueFd::try_open("/dev/kvm", O_RDWR, err);
  if (!fd) return std::string("/dev/kvm: ") + std::strerror(-err);
  utsname u{};
  ::uname(&u);
  std::string stamp = cache_dir() + "/kvm-probe-" + u.release;
  std::string cached;
  if (try_read_file(stamp, cached)) return cached == "ok" ? "" : cached;
  auto r = run_command({"qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                        "-accel", "kvm", "-cpu", "host", "-m", "256", "-kernel", image, "-initrd", initrd, "-append",
                        "console=ttyS0 panic=-1 rdinit=/probe", "-serial", "stdio"},
                       std::chrono::seconds(25));
  std::string why;
  if (r.output.find("diorace-kvm-probe-ok") != std::string::npos)
    why = "";
  else if (r.timed_out)
    why = "a KVM guest made no progress in 25 s";
  else {
    std::string first = r.output.substr(0, r.output.find('\n'));
    why = "qemu with KVM failed: " + (first.empty() ? "exit " + std::to_string(r.status) : first);
  }
  std::error_code ec;
  fs::create_directories(cache_dir(), ec);
  try {
    write_file(stamp, why.empty() ? "ok" : why);
  } catch (...) {
  }
  return why;
}

}  // namespace

std::string cache_dir() {
  if (const char* p = std::getenv("DIORACE_CACHE"); p && *p) return p;
  if (const char* p = std::getenv("XDG_CACHE_HOME"); p && *p) return std::string(p) + "/diorace";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/diorace";
}

DebianKernel fetch_debian_kernel(const std::string& name) {
  const std::string package = resolve_kernel_name(name);  // a series: its newest package
  static const std::regex valid("linux-image-[a-z0-9.+~-]+");
  if (!std::regex_match(package, valid))
    throw UsageError("--deb: '" + package +
                     "' is neither a Debian kernel image package (linux-image-...) nor a series (debian:6.1-cloud-amd64)");
  std::string dir = cache_dir() + "/kernels/" + package;
  std::error_code ec;
  // Two runs that need the same package at once (VMs side by side, a
  // nightly beside a bisection) take turns: the second finds it unpacked.
  UniqueFd lock;
  if (find_first(dir + "/boot", "vmlinuz-").empty()) {
    fs::create_directories(cache_dir() + "/kernels", ec);
    const std::string lock_path = cache_dir() + "/kernels/.lock-" + package;
    lock = UniqueFd::open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC);
    while (::flock(lock.get(), LOCK_EX) < 0)
      if (errno != EINTR) throw_errno("lock " + lock_path);
  }
  if (find_first(dir + "/boot", "vmlinuz-").empty()) {
    std::string dl = cache_dir() + "/kernels/.download-" + package;
    fs::remove_all(dl, ec);
    fs::create_directories(dl, ec);
    std::fprintf(stderr, "diorace: downloading %s\n", package.c_str());
    auto r = run_command({"sh", "-c", "cd \"$1\" && apt-get download \"$2\"", "sh", dl, package},
                         std::chrono::seconds(900));
    std::string deb = find_first(dl, package + "_");
    if (!r.ok() || deb.empty()) {
      fs::remove_all(dl, ec);
      throw SetupError("cannot download " + package + " (run 'apt-get update' first?): " + tail_lines(r.output, 3));
    }
    std::string partial = dir + ".partial";
    fs::remove_all(partial, ec);
    auto x = run_command({"dpkg-deb", "-x", deb, partial}, std::chrono::seconds(900));
    fs::remove_all(dl, ec);
    if (!x.ok()) throw SetupError("cannot unpack " + deb + ": " + x.output);
    fs::remove_all(dir, ec);
    fs::rename(partial, dir);
  }
  DebianKernel k;
  k.dir = dir;
  k.image = find_first(dir + "/boot", "vmlinuz-");
  k.config = find_first(dir + "/boot", "config-");
  k.modules = find_first(dir + "/lib/modules", "");
  if (k.image.empty()) throw SetupError(package + " holds no boot/vmlinuz-*");
  return k;
}

void set_vm_kernel(VmOptions& o, const std::string& name) {
  o.kernel.clear();
  o.deb.clear();
  if (fs::exists(name)) {
    o.kernel = name;
  } else if (name.rfind("linux-image-", 0) == 0 || parse_kernel_series(name)) {
    o.deb = resolve_kernel_name(name);
  } else {
    throw UsageError("kernel '" + name + "': neither an image file nor a Debian package name (linux-image-...)");
  }
}

namespace {

// What a vm run will do: its checked options, the guest's cases, the
// throttle, the kernel image, modules and config.
struct VmPlan {
  bool exec = false;
  std::vector<const CaseInfo*> cases;
  uint64_t throttle = 0;
  std::string image, modules, kconfig;
  std::string deb_dir;  // --deb: where the package is unpacked (its changelog)
  std::optional<KernelConfig> cfg;
};

// The VM options a user gives, checked before anything is fetched or booted
// (UsageError with one line).
void check_vm_options(const VmOptions& o) {
  if (o.kernel.empty() == o.deb.empty()) throw UsageError("vm: give exactly one of --kernel IMAGE or --deb PACKAGE");
  if (o.guest_args.empty() || (o.guest_args[0] != "run" && o.guest_args[0] != "exec"))
    throw UsageError("vm: the guest command must follow '--' and start with 'run' or 'explore' (e.g. -- run dma_thread)");
  for (const auto& f : o.stage)
    if (::access(f.c_str(), R_OK) != 0) throw UsageError("vm: --stage " + f + ": " + std::strerror(errno));
  if (o.accel != "auto" && o.accel != "kvm" && o.accel != "tcg") throw UsageError("vm: --accel must be auto, kvm or tcg");
  if (o.fs != "ext4" && o.fs != "xfs") throw UsageError("vm: --fs must be ext4 or xfs");
  if (!find_disk_bus(o.disk_bus)) throw UsageError("vm: --disk-bus must be virtio, nvme, scsi or sata");
  if (!o.guest_device.empty() && o.guest_device != "disk" && o.guest_device != "partition")
    throw UsageError("vm: --guest-device must be disk or partition");
  if (o.cpus < 1 || o.cpus > 64) throw UsageError("vm: --cpus must be 1..64");
  if (o.mem_mib < 256 || o.mem_mib > 65536) throw UsageError("vm: --mem must be 256..65536 MiB");
  if (o.disk_size < (64 << 20)) throw UsageError("vm: --disk-size must be at least 64M");
  if (!(o.timeout_s > 0)) throw UsageError("vm: --timeout must be positive");
  for (const auto& a : o.guest_args)
    for (const char* opt : {"--dir", "--device", "--scratch-device", "--config", "--json", "--store", "--junit",
                            "--ktap", "--kcidb", "--jsonl", "--html", "--origin"})
      if (a == opt || a.rfind(std::string(opt) + "=", 0) == 0)
        throw UsageError(std::string(opt) == "--dir" || std::string(opt).find("device") != std::string::npos ||
                                 std::string(opt) == "--config"
                             ? std::string("vm: the guest's target is set by the VM runner (its scratch disk); ") + opt +
                                   " is for runs on this machine"
                             : std::string("vm: give ") + opt + " to vm, before '--': the host keeps the results");
}

VmPlan plan_vm(const VmOptions& o) {
  VmPlan p;
  check_vm_options(o);
  p.exec = o.guest_args[0] == "exec";
  // The guest command line is checked here, so that a typo fails at once.
  const std::vector<std::string> run_args(o.guest_args.begin() + 1, o.guest_args.end());
  if (p.exec) {
    // The guest's own limit must fit in the VM's, or the run is lost with
    // its output when the VM is stopped.
    const double limit = parse_exec_args(run_args).limit_s;
    if (limit >= o.timeout_s)
      throw UsageError(fmt::format("vm: exec --limit {:.0f} s does not fit in vm --timeout {:.0f} s (the boot "
                                   "counts too): give a larger --timeout",
                                   limit, o.timeout_s));
  } else {
    p.cases = select_cases(parse_run_args(run_args).cases);
  }
  uint64_t& throttle = p.throttle;
  if (o.throttle_bps) {
    throttle = *o.throttle_bps;
  } else {
    for (const auto* c : p.cases)
      if (c->vm_device_bps && (throttle == 0 || c->vm_device_bps < throttle)) throttle = c->vm_device_bps;
    if (throttle)
      std::fprintf(stderr, "diorace vm: scratch disk throttled to %llu bytes/s (the cases' device profile; "
                           "--throttle-bps 0 turns it off)\n", static_cast<unsigned long long>(throttle));
  }
  for (const char* tool : {"qemu-system-x86_64", "cpio"})
    if (!have_program(tool)) throw SetupError(std::string(tool) + " not found: run the README's set-up command");

  std::string &image = p.image, &modules = p.modules, &kconfig = p.kconfig;
  image = o.kernel;
  modules = o.modules;
  kconfig = o.kconfig;
  if (!o.deb.empty()) {
    auto k = fetch_debian_kernel(o.deb);
    p.deb_dir = k.dir;
    image = k.image;
    if (modules.empty()) modules = k.modules;
    if (kconfig.empty()) kconfig = k.config;
  }
  if (::access(image.c_str(), R_OK) != 0) throw UsageError("vm: --kernel " + image + ": " + std::strerror(errno));
  if (!modules.empty() && !fs::is_directory(modules)) throw UsageError("vm: --modules " + modules + ": not a directory");
  if (kconfig.empty()) {
    fs::path dir = fs::path(image).parent_path();
    std::string base = fs::path(image).filename().string();
    std::string ver = base.rfind("vmlinuz-", 0) == 0 ? base.substr(8) : "";
    for (auto cand : {dir / "config", dir / ("config-" + ver)})
      if (fs::exists(cand) && fs::is_regular_file(cand)) {
        kconfig = cand.string();
        break;
      }
  }
  p.cfg = kconfig.empty() ? std::nullopt : KernelConfig::load(kconfig);
  // A bus whose driver the kernel lacks would boot to "never reached the
  // test"; say which driver is missing instead.
  const DiskBus& bus = *find_disk_bus(o.disk_bus);
  if (p.cfg)
    for (const auto& sym : bus.configs)
      if (const std::string v = sym.empty() ? "y" : p.cfg->value(std::string(sym)); v != "y" && v != "m")
        throw SetupError(fmt::format("vm: --disk-bus {}: the kernel has no driver for it ({} is not set in {})",
                                     o.disk_bus, sym, kconfig));
  return p;
}

// The guest's initramfs: busybox, the static diorace, init, mkfs tools, the
// kernel config, the modules it needs, the guest plan. Returns its path.
std::string build_initramfs(const VmOptions& o, const VmPlan& p, const std::string& work,
                            const std::string& init = kInit) {
  const std::string& kconfig = p.kconfig;
  const std::string& modules = p.modules;
  const auto& cfg = p.cfg;
  const std::string root = work + "/initramfs";
  for (auto d : {"", "/bin", "/sbin", "/dev", "/proc", "/sys", "/tmp", "/var/tmp", "/mnt", "/modules"})
    fs::create_directories(root + d);
  fs::copy_file(busybox_path(), root + "/bin/busybox");
  fs::copy_file(static_binary(), root + "/diorace");
  write_file(root + "/init", init);
  write_file(root + "/probe", "#!/bin/busybox sh\n/bin/busybox echo diorace-kvm-probe-ok\n/bin/busybox poweroff -f\n");
  fs::permissions(root + "/init", fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  fs::permissions(root + "/probe", fs::perms::owner_all);
  write_file(root + "/diorace-guest", "");
  for (const char* tool : {"mkfs.ext4", "mkfs.xfs", "mkfs.btrfs"}) (void)stage_program(root, tool);
  if (!o.stage.empty()) {
    fs::create_directories(root + "/staged");
    for (const auto& f : o.stage) {
      const std::string dst = root + "/staged/" + fs::path(f).filename().string();
      fs::copy_file(f, dst, fs::copy_options::overwrite_existing);
      fs::permissions(dst, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    }
  }
  if (fs::exists("/etc/mke2fs.conf")) {
    fs::create_directories(root + "/etc");
    fs::copy_file("/etc/mke2fs.conf", root + "/etc/mke2fs.conf");
  }
  if (cfg) fs::copy_file(kconfig, root + "/kconfig");
  auto order = stage_modules(o, modules, cfg, root + "/modules");
  std::string order_text;
  for (auto& m : order) order_text += m + "\n";
  write_file(root + "/modules.order", order_text);
  const DiskBus& bus = *find_disk_bus(o.disk_bus);
  const std::string device = o.guest_device == "disk"        ? std::string(bus.scratch)
                             : o.guest_device == "partition" ? std::string(bus.partition)
                                                             : std::string();
  write_file(root + kGuestPlan, nlohmann::json{{"args", o.guest_args},
                                               {"fs", o.fs},
                                               {"scratch", bus.scratch},
                                               {"result", bus.result},
                                               {"device", device}}
                                    .dump());
  write_file(root + kGuestDevices, std::string(bus.result) + "\n" + std::string(bus.scratch) + "\n" +
                                       (device.empty() ? "" : device + "\n"));
  const std::string initrd = work + "/initramfs.cpio";
  auto c = run_command({"sh", "-c", "cd \"$1\" && find . -print | cpio -o -H newc --quiet > \"$2\"", "sh", root, initrd});
  if (!c.ok()) throw SetupError("cannot build the initramfs: " + c.output);
  return initrd;
}

struct VmDisks {
  std::string scratch, result;
};

// A fresh scratch filesystem (with --guest-device: a blank disk, or one
// partition over all of it) and a zeroed result disk.
VmDisks make_disks(const VmOptions& o, const std::string& work) {
  const std::string scratch = work + "/scratch.img", result = work + "/result.img";
  make_sparse(scratch, o.disk_size);
  if (o.guest_device == "partition") {
    auto part = run_command({"sh", "-c", "echo 'start=2048, type=83' | sfdisk -q \"$1\"", "sh", scratch});
    if (!part.ok()) throw SetupError("sfdisk (package fdisk) could not partition the scratch disk: " + part.output);
  } else if (o.guest_device.empty()) {
    auto mk = o.fs == "xfs" ? run_command({"mkfs.xfs", "-q", "-f", scratch})
                            : run_command({"mkfs.ext4", "-q", "-F", scratch});
    if (!mk.ok()) throw SetupError("mkfs." + o.fs + " failed: " + mk.output);
  }
  make_sparse(result, kResultDiskSize);
  return {scratch, result};
}

// qemu's arguments for the scratch disk on its bus (the throttle applies to
// the drive, whatever the bus) and the virtio result disk: the guest names
// virtio disks in order, so a virtio scratch disk comes first (vda).
std::vector<std::string> scratch_disk_args(const DiskBus& bus, const std::string& scratch, const std::string& result,
                                           uint64_t throttle) {
  const std::string opts = ",format=raw,cache=none,aio=native";
  std::string drive = "file=" + scratch + opts;
  if (throttle) drive += ",throttling.bps-total=" + std::to_string(throttle);
  const std::vector<std::string> result_disk = {"-drive", "file=" + result + opts + ",if=virtio"};
  std::vector<std::string> a;
  if (bus.disk_device.empty()) {
    a = {"-drive", drive + ",if=virtio"};
    a.insert(a.end(), result_disk.begin(), result_disk.end());
    return a;
  }
  a = result_disk;
  if (!bus.controller.empty()) a.insert(a.end(), {"-device", std::string(bus.controller)});
  a.insert(a.end(), {"-drive", drive + ",if=none,id=scratch", "-device", std::string(bus.disk_device) + ",drive=scratch"});
  return a;
}

struct VmBoot {
  CommandResult q;
  double wall = 0;
  std::string accel, console;
};

// Boots the guest under qemu (KVM when it works here, else TCG) and waits
// for it, at most o.timeout_s.
VmBoot boot_vm(const VmOptions& o, const VmPlan& p, const std::string& initrd, const VmDisks& d) {
  const std::string& image = p.image;
  const std::string &scratch = d.scratch, &result = d.result;
  const uint64_t throttle = p.throttle;
  std::string accel = o.accel;
  if (accel == "auto") {
    std::string why = kvm_unusable(image, initrd);
    accel = why.empty() ? "kvm" : "tcg";
    if (!why.empty()) std::fprintf(stderr, "diorace vm: KVM unusable here (%s); using TCG (slower)\n", why.c_str());
  }

  std::string console = o.console_log;
  if (console.empty()) {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    (void)prune_console_logs("/var/tmp", kConsoleLogsKept - 1);
    console = fmt::format("/var/tmp/diorace-console-{}-{}.log",
                          std::chrono::duration_cast<std::chrono::seconds>(now).count(), ::getpid());
  }
  std::string append = "console=ttyS0 panic=-1 rdinit=/init loglevel=7";
  if (!o.append.empty()) append += " " + o.append;
  std::vector<std::string> argv = {"qemu-system-x86_64", "-nodefaults", "-no-user-config", "-no-reboot",
                                   "-display", "none", "-smp", std::to_string(o.cpus), "-m", std::to_string(o.mem_mib),
                                   "-kernel", image, "-initrd", initrd, "-append", append,
                                   "-serial", "file:" + console};
  const auto disks = scratch_disk_args(*find_disk_bus(o.disk_bus), scratch, result, throttle);
  argv.insert(argv.end(), disks.begin(), disks.end());
  if (accel == "kvm") {
    argv.insert(argv.end(), {"-accel", "kvm", "-cpu", "host"});
  } else {
    argv.insert(argv.end(), {"-accel", "tcg,thread=multi", "-cpu", "max"});
  }
  std::fprintf(stderr, "diorace vm: booting %s (%s, %u CPUs, %u MiB, %s scratch disk%s), console in %s\n",
               image.c_str(), accel.c_str(), o.cpus, o.mem_mib, o.disk_bus.c_str(),
               o.guest_device.empty() ? "" : (", cases on its " + o.guest_device).c_str(), console.c_str());
  auto t0 = std::chrono::steady_clock::now();
  auto q = run_command(argv, std::chrono::seconds(static_cast<long>(o.timeout_s)));
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // A stop request (SIGINT, SIGTERM, SIGHUP): qemu is gone; the work
  // directory and its disks go with the stack (exit 2, no result).
  if (q.interrupted) throw SetupError("interrupted: the guest was stopped, no result");
  return {std::move(q), wall, accel, console};
}

struct VmOutcome {
  RunRecord record;  // the guest's run (identity, cases), with the host's verdicts added
  std::string console_text;
};

// Reads what the guest left on its result disk and the console, and decides:
// no boot (exit 3), a complete run, or a crash, hang or broken run.
VmOutcome read_outcome(const VmOptions& o, const VmBoot& b, const VmDisks& d) {
  VmOutcome out;
  RunRecord& rec = out.record;
  std::string raw;
  (void)try_read_file(b.console, out.console_text);
  (void)try_read_file(d.result, raw);
  raw = raw.substr(0, raw.find('\0'));
  try {
    if (!raw.empty()) rec = nlohmann::json::parse(raw).get<RunRecord>();
  } catch (const std::exception&) {
    rec = RunRecord{};
  }
  std::string crash_what;
  auto crash_at = find_crash(out.console_text, crash_what);
  // Under TCG (this runner chose it), a report only the emulator causes is
  // no verdict on the kernel.
  (void)reclassify_emulator_artifacts(rec, b.accel);
  std::string verdict;
  int code = kExitError;
  if (!rec.guest_started) {
    code = kExitNoBoot;
    verdict = b.q.timed_out ? "the guest never reached the test before the timeout"
                            : "the guest never reached the test (boot failure, missing module or no init)";
    if (crash_at) verdict += ": " + crash_what;
  } else if (rec.complete && !crash_at) {
    code = rec.exit_code.value_or(kExitError);
    verdict = "guest run complete";
  } else {
    CaseResult r;
    r.name = rec.running.empty() ? "(between cases)" : rec.running;
    r.duration_s = b.wall;
    if (crash_at) {
      fail_with_crash(r, out.console_text, *crash_at, crash_what);
    } else if (b.q.timed_out) {
      r.fail(FailKind::hang, fmt::format("guest did not finish within {:.0f} s", o.timeout_s));
      r.events.push_back(HangEvent{tail_lines(out.console_text, 60)});
    } else {
      r.verdict = Verdict::error;
      r.reason = "the guest run ended without completing (qemu exit " + std::to_string(b.q.status) + ")";
      r.events.push_back(ConsoleEvent{tail_lines(out.console_text, 60)});
    }
    r.failures = r.verdict == Verdict::fail ? 1 : 0;
    rec.cases.push_back(r);
    code = exit_code_for(rec.cases);
    verdict = r.reason;
  }
  rec.exit_code = code;
  rec.vm = VmInfo{.verdict = verdict};
  return out;
}

// What a person sees of a vm run.
void print_outcome(const VmOutcome& out) {
  const RunRecord& rec = out.record;
  const VmInfo& vm = *rec.vm;
  const int code = rec.exit_code.value_or(kExitError);
  for (const auto& r : rec.cases) std::fputs(format_result(r, 2, 3000).c_str(), stdout);
  if (rec.exec) {
    const auto& ex = *rec.exec;
    std::printf("exec %s: %s, status %d, %.1f s%s\n", ex.argv.empty() ? "?" : ex.argv[0].c_str(),
                ex.detect_s ? fmt::format("detected after {:.2f} s", *ex.detect_s).c_str() : "not detected", ex.status,
                ex.wall_s, ex.timed_out ? " (limit reached)" : "");
  }
  if (code == kExitNoBoot)
    std::printf("ERROR vm: %s\n--- console tail ---\n%s\n", vm.verdict.c_str(), tail_lines(out.console_text, 40).c_str());
  const std::string release = rec.system.kernel.release.empty() ? "?" : rec.system.kernel.release;
  std::printf("vm: kernel %s, %s, %.1f s wall, exit %d (console: %s)\n", release.c_str(), vm.accel.c_str(), vm.wall_s,
              code, vm.console_log.c_str());
  std::fflush(stdout);
}

}  // namespace

int run_vm(const VmOptions& o, RunRecord* record_out) {
  // The caller's run (one it began in the store), else a new one.
  RunInfo run = record_out && !record_out->run.uid.empty()
                    ? record_out->run
                    : RunInfo{.uid = new_run_uid(), .started_at = utc_timestamp(), .mode = "vm",
                              .label = o.deb.empty() ? o.kernel : o.deb, .command = o.command};
  const VmPlan plan = plan_vm(o);
  clean_stale_tempdirs("/var/tmp", "diorace-vm-", "VM work directory");
  auto work = OwnedTempDir::create("/var/tmp", "diorace-vm-");
  const std::string initrd = build_initramfs(o, plan, work.path());
  const VmDisks disks = make_disks(o, work.path());
  const VmBoot boot = boot_vm(o, plan, initrd, disks);
  VmOutcome outcome = read_outcome(o, boot, disks);
  RunRecord& rec = outcome.record;
  // The run is the host's (its start, command and label); the guest gave
  // the kernel's identity, the target and the cases.
  run.finished_at = utc_timestamp();
  run.status = "COMPLETE";
  rec.run = run;
  rec.complete = true;
  rec.running.clear();
  const std::string verdict = rec.vm->verdict;
  rec.vm = VmInfo{.image = plan.image, .deb = o.deb, .accel = boot.accel, .fs = o.fs, .console_log = boot.console,
                  .kconfig = plan.kconfig, .verdict = verdict, .disk_bus = o.disk_bus,
                  .guest_device = o.guest_device, .cpus = o.cpus, .mem_mib = o.mem_mib,
                  .throttle_bps = plan.throttle, .wall_s = boot.wall, .timed_out = boot.q.timed_out};
  // What the package says of each case's fix, beside the verdict.
  if (!o.deb.empty()) check_fixes_of_results(rec.cases, plan.deb_dir, o.deb);
  print_outcome(outcome);
  if (!o.json_path.empty()) write_run_document(o.json_path, rec);
  const int code = *rec.exit_code;
  if (record_out) *record_out = std::move(rec);
  return code;
}

std::string build_lava_initramfs(const VmOptions& opts, const std::string& out) {
  VmOptions o = opts;
  o.guest_args = {"run"};
  o.throttle_bps = 0;  // no scratch disk of ours in a LAVA job
  const VmPlan plan = plan_vm(o);
  auto work = OwnedTempDir::create("/var/tmp", "diorace-initramfs-");
  const std::string cpio = build_initramfs(o, plan, work.path(), kLavaInit);
  write_output_file(out, read_file(cpio));
  return plan.image;
}

size_t prune_console_logs(const std::string& dir, size_t keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> logs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("diorace-console-", 0) != 0 || e.path().extension() != ".log" || !e.is_regular_file(ec)) continue;
    logs.emplace_back(e.last_write_time(ec), e.path());
  }
  if (logs.size() <= keep) return 0;
  std::sort(logs.begin(), logs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t removed = 0;
  for (size_t i = keep; i < logs.size(); ++i) removed += fs::remove(logs[i].second, ec) ? 1 : 0;
  return removed;
}

}  // namespace diorace
