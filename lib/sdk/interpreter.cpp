// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/interpreter.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "diorace/blockdev.hpp"
#include "diorace/buffer.hpp"
#include "diorace/engine.hpp"
#include "diorace/error.hpp"
#include "diorace/fault.hpp"
#include "diorace/fd.hpp"
#include "diorace/freeze.hpp"
#include "diorace/process.hpp"
#include "diorace/target.hpp"
#include "diorace/threads.hpp"

namespace diorace {

namespace {

constexpr unsigned kSlots = 5;  // per actor: up to 4 requests in flight and one more
constexpr unsigned kDepth = 4;

int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void spin(uint32_t loops) {
  for (uint32_t i = 0; i < loops; ++i) asm volatile("" ::: "memory");  // a loop the compiler keeps
}

// STATX_DIOALIGN (6.1+): 0 when the kernel or the filesystem does not say.
std::pair<uint32_t, uint32_t> dio_alignment(const std::string& path) {
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_DIOALIGN, &sx) < 0 || !(sx.stx_mask & STATX_DIOALIGN)) return {0, 0};
  return {sx.stx_dio_offset_align, sx.stx_dio_mem_align};
}

// The model's identity of what fd reached: the inode number of a file, the
// device number (top bit set, apart from inode numbers) of a block device.
// mmap reads and writes: a SIGBUS while this thread copies through a
// mapping ends the copy (the operation fails with EFAULT) instead of the
// process. Any other SIGBUS is left to its default action.
thread_local sigjmp_buf* tl_sigbus = nullptr;

void on_sigbus(int sig, siginfo_t*, void*) {
  if (tl_sigbus) siglongjmp(*tl_sigbus, 1);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void catch_sigbus() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa{};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

// Copies n bytes between buf and the file at `offset` through a MAP_SHARED
// mapping of the pages around them; a write may be followed by
// msync(MS_SYNC). Returns n or -errno (-EFAULT: SIGBUS).
int64_t mapped_copy(int fd, uint64_t offset, std::byte* buf, size_t n, bool write, bool sync) {
  catch_sigbus();
  const uint64_t start = offset & ~uint64_t{4095};
  const size_t len = offset + n - start;
  void* m = ::mmap(nullptr, len, write ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, static_cast<off_t>(start));
  if (m == MAP_FAILED) return -errno;
  auto* at = static_cast<std::byte*>(m) + (offset - start);
  volatile int64_t r = static_cast<int64_t>(n);
  sigjmp_buf env;
  if (sigsetjmp(env, 1) == 0) {
    tl_sigbus = &env;
    if (write)
      std::memcpy(at, buf, n);
    else
      std::memcpy(buf, at, n);
    if (write && sync && ::msync(m, len, MS_SYNC) < 0) r = -errno;
  } else {
    r = -EFAULT;
  }
  tl_sigbus = nullptr;
  ::munmap(m, len);
  return r;
}

// Where a process actor's recreate links the inode it made, so that the
// inode outlives the process (removed by Interpreter::run).
std::string keep_link(const std::string& dir, unsigned actor, unsigned op) {
  return fmt::format("{}/.keep-{}-{}", dir, actor, op);
}

// The whole pages inside [p, p + n): a buffer slot's own pages (its edges
// may share a page with a neighbour's slot).
std::pair<std::byte*, size_t> whole_pages(std::byte* p, size_t n) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const uintptr_t lo = (a + 4095) & ~uintptr_t{4095}, hi = (a + n) & ~uintptr_t{4095};
  return hi > lo ? std::pair{reinterpret_cast<std::byte*>(lo), static_cast<size_t>(hi - lo)}
                 : std::pair{static_cast<std::byte*>(nullptr), size_t{0}};
}

int advice_value(Advice a) {
  switch (a) {
    case Advice::dontneed: return MADV_DONTNEED;
    case Advice::cold: return MADV_COLD;
    case Advice::pageout: return MADV_PAGEOUT;
    case Advice::free_: return MADV_FREE;
    case Advice::hugepage: return MADV_HUGEPAGE;
    case Advice::nohugepage: return MADV_NOHUGEPAGE;
  }
  return MADV_NORMAL;
}

uint64_t inode_of(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return 0;
  return S_ISBLK(st.st_mode) ? (uint64_t{1} << 63) | st.st_rdev : st.st_ino;
}

// Anonymous memory registered with a userfaultfd (missing mode): a handler
// thread fills each missing page with the poison byte (UFFDIO_COPY, so that
// "poison means no data arrived" holds here too) and closes the userfaultfd
// after hold_us, whatever is in flight: faults then fill pages the normal way.
// A kernel that hangs on that release (RACES.md bug 4) hangs this process,
// which is why programs with userfaultfd regions run in a child with a
// deadline (run_program_in_child).
class UffdRegion {
 public:
  static std::unique_ptr<UffdRegion> make(size_t bytes, uint32_t hold_us, int& err) {
    auto r = std::unique_ptr<UffdRegion>(new UffdRegion());
    r->bytes_ = (bytes + 4095) & ~size_t{4095};
    void* p = ::mmap(nullptr, r->bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return err = errno, nullptr;
    r->base_ = static_cast<std::byte*>(p);
    const int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    if (fd < 0) return err = errno, nullptr;
    r->uffd_ = fd;
    uffdio_api api{UFFD_API, 0, 0};
    uffdio_register reg{{reinterpret_cast<uint64_t>(r->base_), r->bytes_}, UFFDIO_REGISTER_MODE_MISSING, 0};
    if (::ioctl(fd, UFFDIO_API, &api) < 0 || ::ioctl(fd, UFFDIO_REGISTER, &reg) < 0) return err = errno, nullptr;
    r->deadline_ns_ = now_ns() + int64_t{hold_us} * 1000;
    r->handler_.start([raw = r.get()] { raw->handle(); });
    return r;
  }
  ~UffdRegion() {
    stop_ = true;
    handler_.join();
    if (uffd_ >= 0) ::close(uffd_);
    if (base_) ::munmap(base_, bytes_);
  }
  UffdRegion(const UffdRegion&) = delete;
  UffdRegion& operator=(const UffdRegion&) = delete;

  [[nodiscard]] std::byte* data() const noexcept { return base_; }
  [[nodiscard]] size_t size() const noexcept { return bytes_; }

 private:
  UffdRegion() = default;
  void handle() {
    alignas(4096) static const auto kPoisonPage = [] {
      std::array<std::byte, 4096> p{};
      p.fill(std::byte{kPoison});
      return p;
    }();
    while (!stop_ && now_ns() < deadline_ns_) {
      pollfd p{uffd_, POLLIN, 0};
      // A short poll: a poll holds a reference to the file, and the release
      // happens when the last reference goes.
      if (::poll(&p, 1, 1) <= 0 || (p.revents & (POLLERR | POLLHUP | POLLNVAL))) continue;
      uffd_msg msg{};
      if (::read(uffd_, &msg, sizeof msg) != sizeof msg || msg.event != UFFD_EVENT_PAGEFAULT) continue;
      uffdio_copy c{msg.arg.pagefault.address & ~uint64_t{4095}, reinterpret_cast<uint64_t>(kPoisonPage.data()), 4096,
                    0, 0};
      (void)::ioctl(uffd_, UFFDIO_COPY, &c);  // EEXIST: another fault filled it
    }
    ::close(uffd_);  // the release, racing whatever faults are in flight
    uffd_ = -1;
  }

  std::byte* base_ = nullptr;
  size_t bytes_ = 0;
  int uffd_ = -1;
  int64_t deadline_ns_ = 0;
  std::atomic<bool> stop_{false};
  JoinedThreads handler_;  // last: joined before the rest goes
};

// The engines of one actor index, kept across programs: setting up and
// tearing down libaio contexts (io_destroy waits for an RCU grace period, tens
// of ms) and rings would otherwise cost more than the programs.
struct ActorEngines {
  Engine aio;
  std::array<Engine, 5> rings;
};

// What actors in threads and in processes alike must see: the files'
// generations (bumped by recreate) and the start line. It lives in shared
// memory (MAP_SHARED), so that a process actor's copy is the same object.
struct Sync {
  std::array<std::atomic<uint64_t>, 16> generation{};
  std::atomic<uint64_t> started{0};  // bit a: actor a counted itself ready
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  // Per actor: how many of its operations have begun (schedule hints wait
  // on it; a futex word, shared by process actors too).
  std::array<std::atomic<uint32_t>, 64> begun{};
};
static_assert(std::atomic<uint64_t>::is_always_lock_free && std::atomic<unsigned>::is_always_lock_free);

class SharedSync {
 public:
  SharedSync() {
    void* m = ::mmap(nullptr, sizeof(Sync), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw_errno("mmap shared");
    sync_ = new (m) Sync();
  }
  ~SharedSync() {
    sync_->~Sync();
    ::munmap(sync_, sizeof(Sync));
  }
  SharedSync(const SharedSync&) = delete;
  SharedSync& operator=(const SharedSync&) = delete;
  Sync& operator*() const noexcept { return *sync_; }

 private:
  Sync* sync_ = nullptr;
};

// What all actors share: the program, the arena, the engines and the Sync.
struct Shared {
  const Program& prog;
  std::string dir;
  uint64_t nonce = 0;
  size_t slot_bytes = 0;
  std::byte* arena;  // the interpreter's anonymous arena, or the program's file-backed one
  std::vector<ActorEngines>& engines;
  Sync& sync;

  [[nodiscard]] std::byte* slot(unsigned actor, unsigned s) const {
    // Slot s of every actor side by side, 512 bytes apart from a page
    // boundary: neighbours' buffers share pages.
    return arena + (static_cast<size_t>(s) * prog.actors.size() + actor) * slot_bytes;
  }
  std::array<std::string, 16> loop_paths{};  // loop device slots: the device
  [[nodiscard]] std::string path(unsigned file) const {
    return loop_paths[file].empty() ? fmt::format("{}/f{}", dir, file) : loop_paths[file];
  }
};

struct OpenFile {
  UniqueFd fd;
  uint64_t generation = 0;
  uint64_t inode = 0;
};

struct Pending {
  unsigned event = 0;
  unsigned slot = 0;
  Engine* engine = nullptr;
};

class ActorRun {
 public:
  ActorRun(Shared& sh, unsigned id) : sh_(sh), id_(id), ops_(sh.prog.actors[id].ops) {
    events_.resize(ops_.size());
    for (unsigned i = 0; i < ops_.size(); ++i) {
      events_[i].actor = id;
      events_[i].index = i;
      events_[i].op = ops_[i];
      events_[i].write_id = (static_cast<uint64_t>(id) << 32) | (i + 1);
    }
    for (unsigned s = 0; s < kSlots; ++s) free_.push_back(s);
  }

  void run(InterpreterStats& st) {
    sh_.sync.started.fetch_or(uint64_t{1} << id_);
    sh_.sync.ready.fetch_add(1);
    while (!sh_.sync.go.load(std::memory_order_acquire)) {
    }
    for (unsigned i = 0; i < ops_.size(); ++i) {
      await_hint(ops_[i]);
      spin(ops_[i].spin);
      if (ops_[i].kind != OpKind::freeze) mark_begun(i);  // a freeze: once frozen
      execute(i, st);
    }
    reap_all();
    for (pid_t pid : children_) ::waitpid(pid, nullptr, 0);
  }

  std::vector<OpEvent> events_;
  std::vector<InodeBirth> births_;
  bool keep_links_ = false;  // in a process actor: recreate keeps a link to each inode it makes (keep_link)

 private:
  OpenFile& file(unsigned f, bool direct) {
    OpenFile& of = files_[{f, direct}];
    const uint64_t gen = sh_.sync.generation[f].load();
    if (!of.fd || of.generation != gen) {
      if (of.fd) retired_.push_back(std::move(of.fd));  // requests in flight may still use it
      int err = 0;
      of.fd = UniqueFd::try_open(sh_.path(f), O_RDWR | (direct ? O_DIRECT : 0), err);
      if (!of.fd) throw_errno(-err, "open " + sh_.path(f));
      of.generation = gen;
      of.inode = inode_of(of.fd.get());
    }
    return of;
  }

  Engine* engine_for(const Op& o) {
    ActorEngines& en = sh_.engines[id_];
    if (o.api == Api::libaio) {
      if (!en.aio) en.aio = Engine::open("libaio", {.depth = 2 * kDepth});
      return &en.aio;
    }
    const auto r = static_cast<size_t>(o.ring);
    // Registered buffers are the anonymous arena's pages: never for file-backed buffers.
    if (o.ring == Ring::fixed && sh_.prog.file_backed) throw SkipError("registered buffers with file-backed memory");
    if (!en.rings[r]) {
      EngineOptions eo{.depth = 2 * kDepth};
      eo.iopoll = o.ring == Ring::iopoll;
      eo.sqpoll = o.ring == Ring::sqpoll;
      eo.force_async = o.ring == Ring::async;
      if (o.ring == Ring::fixed) {
        eo.fixed_buffers = true;
        for (unsigned s = 0; s < kSlots; ++s) eo.registered.push_back({sh_.slot(id_, s), sh_.slot_bytes});
      }
      en.rings[r] = Engine::open("io_uring", eo);
    }
    return &en.rings[r];
  }

  void complete(const IoCompletion& c) {
    for (size_t k = 0; k < pending_.size(); ++k) {
      if (pending_[k].event != c.user) continue;
      OpEvent& e = events_[c.user];
      e.end_ns = now_ns();
      e.result = c.res;
      if (e.op.kind == OpKind::read && c.res > 0) {
        const auto* b = reinterpret_cast<const uint8_t*>(sh_.slot(id_, pending_[k].slot) + e.op.misalign);
        e.data.assign(b, b + std::min<uint64_t>(static_cast<uint64_t>(c.res), e.op.length));
      }
      free_.push_back(pending_[k].slot);
      pending_.erase(pending_.begin() + static_cast<long>(k));
      return;
    }
  }

  // Reaps at least one completion of engine (or of any, when null).
  void reap_some(Engine* engine) {
    std::array<IoCompletion, 2 * kDepth> out{};
    if (!engine) engine = pending_.front().engine;
    const unsigned n = engine->reap(1, out);
    for (unsigned k = 0; k < n; ++k) complete(out[k]);
  }

  void reap_all() {
    while (!pending_.empty()) reap_some(nullptr);
  }

  bool in_flight(unsigned event) const {
    for (const auto& p : pending_)
      if (p.event == event) return true;
    return false;
  }

  unsigned take_slot() {
    while (free_.empty()) reap_some(nullptr);
    const unsigned s = free_.back();
    free_.pop_back();
    return s;
  }

  void fill(std::byte* buf, const Op& o, const OpEvent& e) const {
    auto* b = reinterpret_cast<uint8_t*>(buf);
    if (o.kind == OpKind::write)
      for (uint64_t k = 0; k < o.length; ++k) b[k] = stamp_byte(sh_.nonce, e.write_id, o.offset + k);
    else
      std::memset(b, kPoison, o.length);
  }

  void io(unsigned i, InterpreterStats& st) {
    const Op& o = ops_[i];
    OpEvent& e = events_[i];
    if (o.api == Api::mmap) return mapped_io(i, st);
    Engine* engine = nullptr;
    if (o.api == Api::libaio || o.api == Api::uring) {
      try {
        engine = engine_for(o);
      } catch (const SkipError&) {
        ++st.unavailable;  // the kernel refuses this ring here: the operation does not run
        return;
      }
    }
    OpenFile& f = file(o.file, o.direct);
    e.inode = f.inode;
    const unsigned slot = take_slot();
    std::byte* buf = sh_.slot(id_, slot) + o.misalign;
    if (o.uffd && uffd_region_ && o.misalign + o.length <= uffd_region_->size()) {
      // Into the userfaultfd region, its pages missing again: the read faults
      // through the handler (or, once it closed, the normal way).
      buf = uffd_region_->data() + o.misalign;
      (void)::madvise(uffd_region_->data(), uffd_region_->size(), MADV_DONTNEED);
    } else {
      fill(buf, o, e);
    }
    ++st.ops;
    if (!engine) {
      iovec iov{buf, o.length};
      e.start_ns = now_ns();
      ssize_t r;
      if (o.api == Api::psync)
        r = o.kind == OpKind::write ? ::pwrite(f.fd.get(), buf, o.length, static_cast<off_t>(o.offset))
                                    : ::pread(f.fd.get(), buf, o.length, static_cast<off_t>(o.offset));
      else
        r = o.kind == OpKind::write ? ::pwritev2(f.fd.get(), &iov, 1, static_cast<off_t>(o.offset), o.rwf)
                                    : ::preadv2(f.fd.get(), &iov, 1, static_cast<off_t>(o.offset), o.rwf);
      e.end_ns = now_ns();
      e.result = r < 0 ? -errno : r;
      if (o.kind == OpKind::read && r > 0 && fault_active() && fault_should_fire()) {
        // TEST ONLY (--inject-fault): what the engine layer does to the engines' reads.
        if (fault_config().mode == FaultMode::flip) fault_flip(buf, static_cast<size_t>(r));
        if (fault_config().mode == FaultMode::drop) std::memset(buf, kPoison, static_cast<size_t>(r));
      }
      if (o.kind == OpKind::read && r > 0) e.data.assign(reinterpret_cast<uint8_t*>(buf), reinterpret_cast<uint8_t*>(buf) + r);
      free_.push_back(slot);
      return;
    }
    const IoRequest req{f.fd.get(), buf, static_cast<uint32_t>(o.length), o.offset, o.kind == OpKind::write, i};
    pending_.push_back({i, slot, engine});
    e.start_ns = now_ns();
    try {
      engine->submit({&req, 1});
    } catch (const std::system_error& err) {
      e.end_ns = now_ns();
      e.result = -err.code().value();
      pending_.pop_back();
      free_.push_back(slot);
      return;
    }
    if (!o.async)
      while (in_flight(i)) reap_some(engine);
    while (pending_.size() >= kDepth) reap_some(nullptr);
  }

  void mapped_io(unsigned i, InterpreterStats& st) {
    const Op& o = ops_[i];
    OpEvent& e = events_[i];
    OpenFile& f = file(o.file, false);
    e.inode = f.inode;
    const unsigned slot = take_slot();
    std::byte* buf = sh_.slot(id_, slot) + o.misalign;
    fill(buf, o, e);
    ++st.ops;
    e.start_ns = now_ns();
    e.result = mapped_copy(f.fd.get(), o.offset, buf, o.length, o.kind == OpKind::write, o.datasync);
    e.end_ns = now_ns();
    if (o.kind == OpKind::read && e.result > 0 && fault_active() && fault_should_fire()) {
      // TEST ONLY (--inject-fault), as for the other reads.
      if (fault_config().mode == FaultMode::flip) fault_flip(buf, static_cast<size_t>(e.result));
      if (fault_config().mode == FaultMode::drop) std::memset(buf, kPoison, static_cast<size_t>(e.result));
    }
    if (o.kind == OpKind::read && e.result > 0)
      e.data.assign(reinterpret_cast<uint8_t*>(buf), reinterpret_cast<uint8_t*>(buf) + e.result);
    free_.push_back(slot);
  }

  // madvise and mprotect over the whole pages of one of this actor's idle
  // slots: no request of anyone is in flight there (other actors' buffers
  // only share its edge pages), so the program's data never depends on them.
  void buffer_memory(unsigned i) {
    const Op& o = ops_[i];
    OpEvent& e = events_[i];
    const unsigned slot = take_slot();
    const auto [p, n] = whole_pages(sh_.slot(id_, slot), sh_.slot_bytes);
    e.start_ns = now_ns();
    int r = 0;
    if (n && o.kind == OpKind::madvise) {
      int advice = advice_value(o.advice);
      if (advice == MADV_DONTNEED || advice == MADV_FREE) {
        // A ring with registered buffers keeps the pages it pinned: after the
        // pages are dropped here it would read and write the old ones. It goes
        // (and registers the new pages when next used), or, with requests of
        // its own in flight, the advice becomes MADV_COLD.
        Engine& fixed = sh_.engines[id_].rings[static_cast<size_t>(Ring::fixed)];
        bool busy = false;
        for (const auto& q : pending_) busy |= q.engine == &fixed;
        if (busy) advice = MADV_COLD;
        else fixed = Engine();
      }
      r = ::madvise(p, n, advice);
    } else if (n) {
      r = ::mprotect(p, n, PROT_READ);
      if (r == 0) {
        timespec ts{static_cast<time_t>(o.hold_us / 1000000), static_cast<long>(o.hold_us % 1000000) * 1000};
        ::nanosleep(&ts, nullptr);
        if (::mprotect(p, n, PROT_READ | PROT_WRITE) < 0) throw_errno("mprotect back to read-write");
      }
    }
    e.end_ns = now_ns();
    e.result = r < 0 ? -errno : 0;
    free_.push_back(slot);
  }

  void fork_op(unsigned i, InterpreterStats& st) {
    const Op& o = ops_[i];
    OpEvent& e = events_[i];
    e.start_ns = now_ns();
    const pid_t pid = ::fork();
    if (pid == 0) {
      // It keeps no descriptor: a copy of a userfaultfd would put off its
      // release, a copy of a freeze guardian's pipe its thaw.
      (void)::syscall(SYS_close_range, 0u, ~0u, 0u);
      if (o.touch && !sh_.prog.file_backed)  // the child writes to its copy of every page of this actor's buffers
        for (unsigned s = 0; s < kSlots; ++s)
          for (size_t off = 0; off < sh_.slot_bytes; off += 4096) *reinterpret_cast<volatile char*>(sh_.slot(id_, s) + off) = 1;
      timespec ts{static_cast<time_t>(o.hold_us / 1000000), static_cast<long>(o.hold_us % 1000000) * 1000};
      ::nanosleep(&ts, nullptr);
      ::_exit(0);
    }
    e.end_ns = now_ns();
    e.result = pid < 0 ? -errno : 0;
    if (pid > 0) {
      children_.push_back(pid);
      ++st.forks;
    }
  }

  void recreate(unsigned i) {
    const Op& o = ops_[i];
    OpEvent& e = events_[i];
    if (sh_.prog.is_loop(o.file)) throw SetupError("recreate on a loop device slot");  // never rename over a node
    const std::string tmp = fmt::format("{}.new-{}-{}", sh_.path(o.file), id_, i);
    e.start_ns = now_ns();
    auto fd = UniqueFd::create_new(tmp, O_RDWR, 0644);
    if (::ftruncate(fd.get(), static_cast<off_t>(o.length)) < 0) throw_errno("ftruncate " + tmp);
    e.new_inode = inode_of(fd.get());
    births_.push_back({e.new_inode, o.file, o.length, e.start_ns});
    // A process actor's descriptors close when it ends, before the program's
    // history is taken: a link keeps its inodes (and their numbers) until
    // the interpreter removes it (seen on 6.12.118: an inode number reused
    // after a process actor ended merged two inodes in the model, a false
    // "short read").
    if (keep_links_ && ::link(tmp.c_str(), keep_link(sh_.dir, id_, i).c_str()) < 0) throw_errno("link " + tmp);
    if (::rename(tmp.c_str(), sh_.path(o.file).c_str()) < 0) throw_errno("rename " + tmp);
    sh_.sync.generation[o.file].fetch_add(1);
    e.end_ns = now_ns();
    alive_.push_back(std::move(fd));  // see Interpreter::run: no inode number is reused within a program
  }

  // Operation i has begun: wakes the operations whose hint names it.
  void mark_begun(unsigned i) {
    std::atomic<uint32_t>& w = sh_.sync.begun[id_];
    w.store(i + 1, std::memory_order_release);
    (void)::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  }

  // Waits until the operation the hint names has begun, or kAfterTimeoutUs.
  // A short spin first (two operations meant to race should begin within
  // microseconds of each other), then the futex.
  void await_hint(const Op& o) {
    if (o.after_actor < 0 || static_cast<size_t>(o.after_actor) >= sh_.prog.actors.size()) return;
    std::atomic<uint32_t>& w = sh_.sync.begun[static_cast<size_t>(o.after_actor)];
    const uint32_t want = o.after_op + 1;
    for (unsigned k = 0; k < 20000; ++k)
      if (w.load(std::memory_order_acquire) >= want) return;
    const int64_t deadline = now_ns() + int64_t{kAfterTimeoutUs} * 1000;
    for (uint32_t v; (v = w.load(std::memory_order_acquire)) < want;) {
      const int64_t left = deadline - now_ns();
      if (left <= 0) return;
      timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
      (void)::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&w), FUTEX_WAIT, v, &ts, nullptr, 0);
    }
  }

  // FIFREEZE from a guardian process (freeze.hpp): the thaw does not depend
  // on this process surviving (a killed explorer leaves nothing frozen).
  void freeze(unsigned i) {
    OpEvent& e = events_[i];
    reap_all();  // none of this actor's own requests in flight while it freezes
    e.start_ns = now_ns();
    std::optional<FreezeGuardian> g;
    try {
      g.emplace(FreezeGuardian::freeze(sh_.dir, static_cast<int>(ops_[i].hold_us / 1000) + 10000));
    } catch (const SkipError&) {
      e.result = -EOPNOTSUPP;
    } catch (const std::system_error& err) {
      e.result = -err.code().value();
    }
    if (!g) {
      mark_begun(i);
      e.end_ns = now_ns();
      return;
    }
    e.frozen_from_ns = now_ns();
    mark_begun(i);
    timespec ts{static_cast<time_t>(ops_[i].hold_us / 1000000), static_cast<long>(ops_[i].hold_us % 1000000) * 1000};
    ::nanosleep(&ts, nullptr);
    e.frozen_until_ns = now_ns();
    const bool thawed = g->thaw();
    e.end_ns = now_ns();
    e.result = thawed ? 0 : -EIO;
    // The guardian may have thawed before it was asked to (its deadline, its
    // pipe closed under it): the window ends where it thawed, or proves
    // nothing when it did not say when.
    if (g->thawed_at_ns() == 0) e.result = -EIO;
    else e.frozen_until_ns = std::min(e.frozen_until_ns, g->thawed_at_ns());
  }

  // A fresh userfaultfd region for this actor's uffd reads (the old one goes:
  // its handler has closed it, or closes it now).
  void make_uffd_region(unsigned i, InterpreterStats& st) {
    OpEvent& e = events_[i];
    e.start_ns = now_ns();
    uffd_region_.reset();
    int err = 0;
    uffd_region_ = UffdRegion::make(sh_.slot_bytes, ops_[i].hold_us, err);
    e.end_ns = now_ns();
    e.result = uffd_region_ ? 0 : -err;
    if (!uffd_region_) ++st.unavailable;  // no userfaultfd here (CONFIG_USERFAULTFD, a policy): reads use the arena
  }

  void plain(unsigned i) {
    const Op& o = ops_[i];
    OpEvent& e = events_[i];
    OpenFile& f = file(o.file, false);
    e.inode = f.inode;
    static constexpr int kModes[] = {0,
                                     FALLOC_FL_KEEP_SIZE,
                                     FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                     FALLOC_FL_ZERO_RANGE,
                                     FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
                                     FALLOC_FL_COLLAPSE_RANGE,
                                     FALLOC_FL_INSERT_RANGE};
    // A shift only where no I/O is in flight: the file is this actor's alone
    // (the generator's private file), and its own requests are reaped first.
    if (o.kind == OpKind::fallocate && shifts(o.mode)) reap_all();
    e.start_ns = now_ns();
    int r = 0;
    if (o.kind == OpKind::truncate) r = ::ftruncate(f.fd.get(), static_cast<off_t>(o.length));
    else if (o.kind == OpKind::fallocate)
      r = ::fallocate(f.fd.get(), kModes[static_cast<int>(o.mode)], static_cast<off_t>(o.offset),
                      static_cast<off_t>(o.length));
    else r = o.datasync ? ::fdatasync(f.fd.get()) : ::fsync(f.fd.get());
    e.end_ns = now_ns();
    e.result = r < 0 ? -errno : 0;
  }

  void execute(unsigned i, InterpreterStats& st) {
    switch (ops_[i].kind) {
      case OpKind::read:
      case OpKind::write:
        return io(i, st);
      case OpKind::fork:
        return fork_op(i, st);
      case OpKind::recreate:
        return recreate(i);
      case OpKind::freeze:
        return freeze(i);
      case OpKind::uffd:
        return make_uffd_region(i, st);
      case OpKind::madvise:
      case OpKind::mprotect:
        return buffer_memory(i);
      case OpKind::wait:
        events_[i].start_ns = now_ns();
        reap_all();
        events_[i].end_ns = now_ns();
        return;
      default:
        return plain(i);
    }
  }

  Shared& sh_;
  unsigned id_;
  const std::vector<Op>& ops_;
  std::map<std::pair<unsigned, bool>, OpenFile> files_;
  std::vector<UniqueFd> retired_;
  std::vector<UniqueFd> alive_;  // the inodes this actor made, open until the program's history is taken
  std::vector<Pending> pending_;
  std::vector<unsigned> free_;
  std::vector<pid_t> children_;
  std::unique_ptr<UffdRegion> uffd_region_;
};

// A process actor's history travels back to the interpreter through shared
// memory: a header, then each event (its fixed fields, then a read's bytes),
// then the inodes it made. The area is sized from the actor's operations.
class ActorResultArea {
 public:
  explicit ActorResultArea(const Actor& a) {
    bytes_ = sizeof(Header) + a.ops.size() * (sizeof(EventFields) + sizeof(InodeBirth));
    for (const auto& o : a.ops)
      if (o.kind == OpKind::read) bytes_ += o.length;
    void* m = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) throw_errno("mmap shared");
    base_ = static_cast<std::byte*>(m);
  }
  ~ActorResultArea() { ::munmap(base_, bytes_); }
  ActorResultArea(const ActorResultArea&) = delete;
  ActorResultArea& operator=(const ActorResultArea&) = delete;

  // In the child.
  void put(const std::vector<OpEvent>& events, const std::vector<InodeBirth>& births, const InterpreterStats& st) noexcept {
    Header h{.state = 1, .events = static_cast<uint32_t>(events.size()), .births = static_cast<uint32_t>(births.size()),
             .ops = st.ops, .unavailable = st.unavailable, .forks = st.forks};
    size_t at = sizeof(Header);
    for (const auto& e : events) {
      const EventFields f{e.actor, e.index, e.op, e.inode, e.start_ns, e.end_ns, e.result, e.write_id, e.new_inode,
                          e.frozen_from_ns, e.frozen_until_ns, e.data.size()};
      std::memcpy(base_ + at, &f, sizeof f);
      at += sizeof f;
      std::memcpy(base_ + at, e.data.data(), e.data.size());
      at += e.data.size();
    }
    std::memcpy(base_ + at, births.data(), births.size() * sizeof(InodeBirth));
    std::memcpy(base_, &h, sizeof h);
  }
  void put_error(const char* what) noexcept {
    Header h{.state = 2};
    std::snprintf(h.error, sizeof h.error, "%s", what);
    std::memcpy(base_, &h, sizeof h);
  }
  // In the interpreter, after the child ended; throws SetupError when it failed.
  void take(std::vector<OpEvent>& events, std::vector<InodeBirth>& births, InterpreterStats& st, int status) const {
    Header h;
    std::memcpy(&h, base_, sizeof h);
    if (h.state == 2) throw SetupError(std::string("a process actor: ") + h.error);
    if (h.state != 1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      throw SetupError("a process actor ended without its history (" + describe_wait_status(status) + ")");
    size_t at = sizeof(Header);
    events.assign(h.events, OpEvent{});
    for (auto& e : events) {
      EventFields f;
      std::memcpy(&f, base_ + at, sizeof f);
      at += sizeof f;
      e.actor = f.actor, e.index = f.index, e.op = f.op, e.inode = f.inode, e.start_ns = f.start_ns;
      e.end_ns = f.end_ns, e.result = f.result, e.write_id = f.write_id, e.new_inode = f.new_inode;
      e.frozen_from_ns = f.frozen_from_ns, e.frozen_until_ns = f.frozen_until_ns;
      const auto* d = reinterpret_cast<const uint8_t*>(base_ + at);
      e.data.assign(d, d + f.data_len);
      at += f.data_len;
    }
    births.resize(h.births);
    std::memcpy(births.data(), base_ + at, births.size() * sizeof(InodeBirth));
    st.ops += h.ops, st.unavailable += h.unavailable, st.forks += h.forks;
  }

 private:
  struct Header {
    uint32_t state = 0;  // 0: nothing yet, 1: the history, 2: an error
    uint32_t events = 0, births = 0;
    uint64_t ops = 0, unavailable = 0, forks = 0;
    char error[1024] = {};
  };
  struct EventFields {
    unsigned actor, index;
    Op op;
    uint64_t inode;
    int64_t start_ns, end_ns, result;
    uint64_t write_id, new_inode;
    int64_t frozen_from_ns, frozen_until_ns;
    size_t data_len;
  };
  static_assert(std::is_trivially_copyable_v<Op> && std::is_trivially_copyable_v<InodeBirth>);
  std::byte* base_ = nullptr;
  size_t bytes_ = 0;
};

// Runs actor `id` in a process of its own and takes its history back. The
// calling thread waits for it; the process dies with that thread.
void run_process_actor(Shared& sh, ActorRun& actor, unsigned id, InterpreterStats& st) {
  ActorResultArea area(sh.prog.actors[id]);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    sh.sync.ready.fetch_add(1);  // counted as ready, so that the others start and end
    throw_errno(err, "fork (a process actor)");
  }
  if (pid == 0) {
    (void)::prctl(PR_SET_PDEATHSIG, SIGKILL);
    // Rings and AIO contexts of its own: the parent's io_uring rings would be
    // shared with it, its AIO contexts are not its own. The copies are left
    // as they are (the process ends with _exit).
    new (&sh.engines[id]) ActorEngines();
    actor.keep_links_ = true;
    try {
      InterpreterStats cst;
      actor.run(cst);
      area.put(actor.events_, actor.births_, cst);
    } catch (const std::exception& e) {
      area.put_error(e.what());
    }
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!(sh.sync.started.load() & (uint64_t{1} << id))) sh.sync.ready.fetch_add(1);  // it died before the start line
  area.take(actor.events_, actor.births_, st, status);
}

size_t slot_size(const Program& p) {
  uint64_t longest = 512;
  for (const auto& a : p.actors)
    for (const auto& o : a.ops)
      if (o.kind == OpKind::read || o.kind == OpKind::write) longest = std::max(longest, o.length + o.misalign);
  // Packed: back to back at 512-byte granularity, several actors' buffers in
  // each page. Spread: whole pages and 512 bytes, so only slot edges fall
  // inside pages.
  if (p.packed) return ((longest + 511) / 512) * 512;
  return ((std::max<uint64_t>(longest, 4096) + 4095) / 4096) * 4096 + 512;
}

}  // namespace

// A file of the program's directory mapped MAP_SHARED as its buffers; the
// file is removed at once (the mapping keeps it), so the directory empties.
class FileArena {
 public:
  FileArena() = default;
  FileArena(const std::string& path, size_t bytes) : bytes_(bytes) {
    auto fd = UniqueFd::create_new(path, O_RDWR, 0600);
    ::unlink(path.c_str());
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) < 0) throw_errno("ftruncate " + path);
    void* m = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (m == MAP_FAILED) throw_errno("mmap " + path);
    base_ = static_cast<std::byte*>(m);
  }
  FileArena(FileArena&& o) noexcept : base_(std::exchange(o.base_, nullptr)), bytes_(o.bytes_) {}
  FileArena& operator=(FileArena&& o) noexcept {
    std::swap(base_, o.base_);
    std::swap(bytes_, o.bytes_);
    return *this;
  }
  ~FileArena() {
    if (base_) ::munmap(base_, bytes_);
  }
  [[nodiscard]] std::byte* data() const noexcept { return base_; }

 private:
  std::byte* base_ = nullptr;
  size_t bytes_ = 0;
};

// The program's files and the links that kept its process actors' inodes
// (a loop slot's path is the device node: never removed).
void remove_program_files(const Shared& sh) {
  const Program& p = sh.prog;
  for (unsigned f = 0; f < p.files; ++f)
    if (!p.is_loop(f)) ::unlink(sh.path(f).c_str());
  for (unsigned a = 0; a < p.actors.size(); ++a)
    if (p.actors[a].process)
      for (unsigned i = 0; i < p.actors[a].ops.size(); ++i)
        if (p.actors[a].ops[i].kind == OpKind::recreate) ::unlink(keep_link(sh.dir, a, i).c_str());
}

struct Interpreter::Impl {
  AlignedBuffer arena;
  bool huge = false;  // arena in transparent huge pages
  size_t slot_bytes = 0;
  std::vector<ActorEngines> engines;

  // An arena (and engines) fit for p, its slots exactly p's size (the
  // layout decides which buffers share pages). Engines are kept across
  // programs; the rings with registered buffers only while the slots stay
  // where they were registered.
  void fit(const Program& p) {
    const size_t need = slot_size(p);
    if (p.actors.size() > engines.size()) {
      engines.clear();
      engines.resize(std::max(p.actors.size(), size_t{4}));
    }
    const bool want_huge = p.huge && !p.file_backed;
    if (need == slot_bytes && arena.size() && want_huge == huge) return;
    size_t bytes = need * kSlots * engines.size() + 4096;
    if (want_huge != huge || arena.size() < bytes) {
      if (want_huge) {
        // Whole 2 MiB pages: the fault of the first store maps a huge page
        // (THP "always" or "madvise"; with "never" they stay small pages).
        bytes = std::max<size_t>((bytes + (2u << 20) - 1) & ~size_t{(2u << 20) - 1}, 4u << 20);
        arena = AlignedBuffer::create(bytes, 2u << 20);
        (void)::madvise(arena.data(), arena.size(), MADV_HUGEPAGE);
      } else {
        arena = AlignedBuffer::create(bytes, 4096);
      }
      huge = want_huge;
    }
    slot_bytes = need;
    for (auto& e : engines) e.rings[static_cast<size_t>(Ring::fixed)] = Engine();
  }
};

Interpreter::Interpreter() : impl_(std::make_unique<Impl>()) {}
Interpreter::~Interpreter() = default;

History Interpreter::run(const Program& p, const std::string& dir, uint64_t nonce, InterpreterStats* stats) {
  if (p.files > 16) throw SetupError("a program has at most 16 files");
  InterpreterStats local;
  InterpreterStats& st = stats ? *stats : local;
  impl_->fit(p);
  SharedSync sync;
  FileArena file_arena;
  if (p.file_backed) file_arena = FileArena(dir + "/buffers", impl_->arena.size());
  Shared sh{p, dir, nonce, impl_->slot_bytes, p.file_backed ? file_arena.data() : impl_->arena.data(), impl_->engines,
            *sync};
  History h;
  h.nonce = nonce;
  h.fstype = filesystem_type(dir);
  std::vector<LoopDevice> loops;  // detached (autoclear) when the run ends, also on errors
  // Every inode the program makes stays open until its history is taken: a
  // filesystem reuses a freed inode's number at once (ext4 does), and the
  // model tells inodes apart by number (a read of an old file would be
  // checked against a new one's size: seen on 6.12.118 as a false "past EOF").
  std::vector<UniqueFd> alive;
  for (unsigned f = 0; f < p.files; ++f) {
    auto fd = UniqueFd::create_new(sh.path(f), O_RDWR, 0644);
    const uint64_t size = p.is_loop(f) ? p.max_size : p.initial_sizes[f];
    if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) throw_errno("ftruncate " + sh.path(f));
    if (p.is_loop(f)) {
      loops.push_back(LoopDevice::attach(sh.path(f), true));
      ::unlink(sh.path(f).c_str());  // the loop device holds the backing file
      sh.loop_paths[f] = loops.back().path();
      fd = UniqueFd::open(sh.loop_paths[f], O_RDONLY);
    }
    h.births.push_back({inode_of(fd.get()), f, size, now_ns(), p.is_loop(f)});
    alive.push_back(std::move(fd));
  }
  std::tie(h.dio_offset_align, h.dio_mem_align) = dio_alignment(sh.path(0));
  std::vector<std::unique_ptr<ActorRun>> actors;
  for (unsigned a = 0; a < p.actors.size(); ++a) actors.push_back(std::make_unique<ActorRun>(sh, a));
  std::vector<std::exception_ptr> errors(actors.size());
  std::vector<InterpreterStats> per(actors.size());
  {
    JoinedThreads threads;
    try {
      for (unsigned a = 0; a < actors.size(); ++a)
        threads.start([&, a] {
          try {
            if (p.actors[a].process)
              run_process_actor(sh, *actors[a], a, per[a]);
            else
              actors[a]->run(per[a]);
          } catch (...) {
            errors[a] = std::current_exception();
          }
        });
    } catch (...) {
      sh.sync.go.store(true);  // the actors that started run and end; then the error
      throw;
    }
    while (sh.sync.ready.load() < actors.size()) {
    }
    sh.sync.go.store(true, std::memory_order_release);
  }
  remove_program_files(sh);
  for (auto& e : errors)
    if (e) {
      impl_->engines.clear();  // requests an actor left behind must not meet the next program
      impl_->slot_bytes = 0;
      std::rethrow_exception(e);
    }
  for (unsigned a = 0; a < actors.size(); ++a) {
    for (auto& e : actors[a]->events_) h.events.push_back(std::move(e));
    for (auto& b : actors[a]->births_) h.births.push_back(b);
    st.ops += per[a].ops;
    st.unavailable += per[a].unavailable;
    st.forks += per[a].forks;
  }
  return h;
}

History run_in_fresh_dir(Interpreter& interp, const Program& p, const std::string& dir, uint64_t nonce,
                         InterpreterStats* stats) {
  if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST) throw_errno("mkdir " + dir);
  History h;
  try {
    h = interp.run(p, dir, nonce, stats);
  } catch (...) {
    ::rmdir(dir.c_str());
    throw;
  }
  ::rmdir(dir.c_str());
  return h;
}

History run_program(const Program& p, const std::string& dir, uint64_t nonce, InterpreterStats* stats) {
  Interpreter i;
  return i.run(p, dir, nonce, stats);
}

bool may_hang_for_good(const Program& p) { return p.has(OpKind::uffd); }

std::vector<Finding> run_and_check(std::unique_ptr<Interpreter>& interp, const Program& p, const std::string& dir,
                                   uint64_t nonce, InterpreterStats& st) {
  if (!may_hang_for_good(p)) return check_history(run_in_fresh_dir(*interp, p, dir, nonce, &st));
  // Forking with rings and AIO contexts held changed how Debian's 6.1
  // completes this process's later polled reads (the IOPOLL class, RACES.md
  // bug 2, then never showed in explore: 0 in 1154 programs, against 0.4 s
  // with them dropped, seed 1, ext4).
  interp = std::make_unique<Interpreter>();
  ChildRun r = run_program_in_child(p, dir, nonce, kProgramDeadlineS);
  st = r.stats;
  return std::move(r.findings);
}

ChildRun run_program_in_child(const Program& p, const std::string& dir, uint64_t nonce, double deadline_s) {
  // The child's answer, as JSON text in shared memory (findings carry their
  // evidence; 4 MiB is far more than a program's findings take).
  constexpr size_t kShared = 4 << 20;
  void* m = ::mmap(nullptr, kShared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) throw_errno("mmap shared");
  struct Unmap {
    void* m;
    ~Unmap() { ::munmap(m, kShared); }
  } unmap{m};
  char* shared = static_cast<char*>(m);
  auto outcome = run_with_deadline(
      [&]() -> int {
        nlohmann::json out;
        try {
          InterpreterStats st;
          const History h = run_in_fresh_dir(*std::make_unique<Interpreter>(), p, dir, nonce, &st);
          out = {{"findings", check_history(h)}, {"ops", st.ops}, {"forks", st.forks}, {"unavailable", st.unavailable}};
        } catch (const std::exception& e) {
          out = {{"error", e.what()}};
        }
        const std::string text = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        if (text.size() >= kShared) return 3;
        std::memcpy(shared, text.data(), text.size() + 1);
        return 0;
      },
      deadline_s, "program");
  ChildRun r;
  if (outcome.hung) {
    // Nothing more on the filesystem here (a stuck task may still hold it):
    // the directory goes with the scratch filesystem.
    r.hung = true;
    Finding f = outcome.finding.value_or(Finding{});
    f.detail["class"] = "hang";
    r.findings.push_back(std::move(f));
    return r;
  }
  const auto j = nlohmann::json::parse(std::string(shared, ::strnlen(shared, kShared)), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw SetupError(fmt::format("a program's child left no readable result (exit status {})", outcome.status));
  if (j.contains("error")) throw SetupError(j.at("error").get<std::string>());
  r.findings = j.at("findings").get<std::vector<Finding>>();
  r.stats.ops = j.value("ops", uint64_t{0});
  r.stats.forks = j.value("forks", uint64_t{0});
  r.stats.unavailable = j.value("unavailable", uint64_t{0});
  return r;
}

}  // namespace diorace
