// SPDX-License-Identifier: GPL-2.0-or-later
// Concurrent programs, the explorer's unit of work (docs/explore-model.md):
// a few actors, each a list of generic operations on a few small files of a
// scratch filesystem, started together. Operations are building blocks with
// their parameters drawn at random from a weighted table (fsstress style),
// never a recipe of a known bug. A program is data: it is generated from a
// seed, written as JSON (a finding, a case under repro/programs/), read back,
// replayed and minimized.
#pragma once
#include <cstdint>
#include <map>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace diorace {

enum class OpKind {
  read,       // pread/preadv2/libaio/io_uring read of [offset, offset+length)
  write,      // the same, writing the program's stamps (model.hpp)
  truncate,   // ftruncate to `length`
  fallocate,  // fallocate(mode) over [offset, offset+length)
  fsync,      // fsync, or fdatasync when `datasync`
  fork,       // fork(); the child lives `hold_us` (touching its copy of the buffers or not) and exits
  recreate,   // a fresh inode: create a new file of size `length` beside it, rename it over the slot
  wait,       // reap every asynchronous request of this actor still in flight
  freeze,     // FIFREEZE the filesystem, hold `hold_us`, FITHAW
  uffd,       // a fresh userfaultfd region for this actor's `uffd` reads: a handler thread fills each missing
              // page with poison (UFFDIO_COPY) and closes the userfaultfd after `hold_us`
  madvise,    // madvise(`advice`) over the whole pages of one of this actor's idle buffer slots
  mprotect,   // one of this actor's idle buffer slots read-only for `hold_us`, then writable again
};
// madvise(2) advice the generator draws for its buffers.
enum class Advice { dontneed, cold, pageout, free_, hugepage, nohugepage };
std::string_view op_kind_name(OpKind k) noexcept;

// How a read or write reaches the kernel. mmap: through a MAP_SHARED mapping
// of the pages around the range (mapped for the operation, then unmapped),
// a write optionally followed by msync(MS_SYNC) (`datasync`); the generator
// keeps it within the file's first size, on files whose size never shrinks.
enum class Api { psync, pv2, libaio, uring, mmap };
// io_uring ring flavours.
enum class Ring { plain, iopoll, sqpoll, async, fixed };

// fallocate modes the generator draws (FALLOC_FL_*). collapse and insert
// (COLLAPSE_RANGE, INSERT_RANGE) shift the file's later bytes: the generator
// puts them only on a file slot one actor has to itself (Program::private_file),
// after that actor reaped its requests: no I/O is in flight on the file.
enum class Falloc { plain, keep_size, punch_hole, zero_range, zero_keep, collapse, insert };
[[nodiscard]] constexpr bool shifts(Falloc m) noexcept { return m == Falloc::collapse || m == Falloc::insert; }

struct Op {
  OpKind kind = OpKind::read;
  unsigned file = 0;         // file slot
  uint64_t offset = 0;
  uint64_t length = 0;       // bytes; truncate, recreate: the new size
  bool direct = false;       // through an O_DIRECT descriptor
  Api api = Api::psync;
  Ring ring = Ring::plain;   // with api uring
  bool async = false;        // libaio, uring: submit now, reap at the next wait (or a full queue, or the end)
  int rwf = 0;               // with api pv2: RWF_* flags
  Falloc mode = Falloc::plain;
  bool datasync = false;     // fsync: fdatasync
  bool touch = false;        // fork: the child writes to its copy of this actor's buffers
  bool uffd = false;         // read (psync, pv2): into this actor's userfaultfd region, its pages dropped first
  uint32_t misalign = 0;     // buffer start within the actor's slot, a multiple of 512 (sub-page sharing)
  uint32_t spin = 0;         // busy-wait loop iterations before the operation (a random spin widens races)
  uint32_t hold_us = 0;      // fork: the child's life; freeze: how long the filesystem stays frozen
  Advice advice = Advice::dontneed;  // madvise
  // A schedule hint ("after": [actor, op]): before its spin, the operation
  // waits until operation `after_op` of the lower-numbered actor
  // `after_actor` has begun (a freeze: once the filesystem is frozen), or
  // kAfterTimeoutUs has passed, whichever comes first. It only moves the
  // operation in time: the model judges by the recorded times, never by it.
  int after_actor = -1;      // -1: no hint
  uint32_t after_op = 0;

  // "read.direct.uring-iopoll", "write.buffered.psync", "fallocate.punch_hole": what a signature names.
  [[nodiscard]] std::string shape() const;
};
void to_json(nlohmann::json& j, const Op& o);
void from_json(const nlohmann::json& j, Op& o);
// Whether the operation acts on its file slot (`file`): reads, writes,
// truncate, fallocate, fsync, recreate; the others ignore it.
[[nodiscard]] bool uses_file(const Op& o) noexcept;
// How long a schedule hint waits at most (a hint never deadlocks a program:
// the operation it waits for may never begin).
inline constexpr uint32_t kAfterTimeoutUs = 250'000;

struct Actor {
  std::vector<Op> ops;
  // Runs in a process of its own (forked at the start, before the actors
  // are released) instead of a thread: its own address space (its buffers
  // are its copy), descriptors, rings and AIO contexts, the same files.
  bool process = false;
};

struct Program {
  static constexpr const char* kFormat = "diorace-program/1";
  uint64_t seed = 0;
  std::string fs = "ext4";              // filesystem variant it ran on (explore's variants)
  unsigned files = 2;
  std::vector<uint64_t> initial_sizes;  // per file: made by ftruncate (a hole) before the actors start
  uint64_t max_size = 64 * 1024;        // the generator's file size bound
  // File slots that are loop devices (direct I/O on) over a sparse file of
  // max_size bytes on the scratch filesystem: reads, writes and fsync only.
  std::vector<unsigned> loops;
  // Buffer layout: spread (each actor's slots whole pages plus 512 bytes, so
  // that only slot edges share pages) or packed (slots back to back at
  // 512-byte granularity: the buffers of several actors share each page).
  bool packed = false;
  // Buffer memory: anonymous (the interpreter's arena), or a MAP_SHARED
  // mapping of a file of the program's own directory ("buffer_memory":
  // "file"): O_DIRECT requests then pin page-cache pages of another file.
  // Such programs use no registered buffers (io_uring refuses file-backed
  // memory for them) and their forks touch nothing (the child would write to
  // the very pages, not to a copy).
  bool file_backed = false;
  // Anonymous buffers in transparent huge pages: an arena of 4 MiB aligned
  // to 2 MiB with MADV_HUGEPAGE ("huge_pages": true; not with file_backed).
  bool huge = false;
  // A file slot that only actor 0 uses (-1: none): where its COLLAPSE_RANGE
  // and INSERT_RANGE go ("private_file").
  int private_file = -1;
  std::vector<Actor> actors;

  [[nodiscard]] bool is_loop(unsigned file) const noexcept;
  // Whether some actor has an operation of kind k.
  [[nodiscard]] bool has(OpKind k) const noexcept;

  [[nodiscard]] size_t op_count() const noexcept;
  // Removing actors and operations keeps the schedule hints of the rest
  // pointing at the same operations (a hint to a removed one goes).
  void erase_actor(size_t a);
  void erase_ops(size_t a, size_t from, size_t to);  // [from, to) of actor a
};
void to_json(nlohmann::json& j, const Program& p);
// Throws std::invalid_argument naming what is wrong (format, op kind, file index, sizes).
void from_json(const nlohmann::json& j, Program& p);

// False when p freezes the filesystem and leaves io_uring writes in flight:
// such a write holds the filesystem's write protection until its completion
// is processed by its submitter (polled for, or run as task work when the
// submitter enters the kernel), so a submitter that is itself blocked in
// FIFREEZE, or in a write that waits for the thaw, never lets the freeze
// finish: a deadlock of the program's own making (seen on 6.1 with an
// IOPOLL write; docs/explore-model.md). Generated programs never do it;
// program files that do are refused.
[[nodiscard]] bool freeze_safe(const Program& p);

// The generator's table: each operation kind's weight (0 switches it off),
// and the choices inside a read or write. fsstress's `-f op=freq` model.
struct GeneratorConfig {
  unsigned actors = 3;
  unsigned files = 2;
  unsigned ops_per_actor = 12;
  uint64_t max_size = 64 * 1024;
  std::map<std::string, unsigned> weights = default_weights();
  std::map<std::string, unsigned> engines = default_engines();  // psync, pv2, libaio, uring
  std::map<std::string, unsigned> rings = default_rings();      // plain, iopoll, sqpoll, async, fixed
  unsigned direct_percent = 65;  // reads and writes through an O_DIRECT descriptor
  unsigned async_percent = 50;   // libaio and io_uring requests left in flight
  unsigned spin_percent = 40;    // operations preceded by a random spin (0..2000 loops)
  unsigned after_percent = 30;   // operations of actors 1.. with a schedule hint (Op::after_actor); swarm: half the programs none
  unsigned loop_percent = 40;    // programs whose last file slot is a loop device (with 2 files or more)
  unsigned packed_percent = 50;  // programs whose buffers are packed (Program::packed)
  unsigned process_percent = 25; // actors that run as processes (Actor::process), the rest as threads
  unsigned file_percent = 15;    // programs whose buffers are file-backed (Program::file_backed)
  unsigned private_percent = 20; // programs (of 2 files or more) whose last file is actor 0's alone
  unsigned huge_percent = 15;    // programs whose anonymous buffers are in transparent huge pages (Program::huge)
  // Swarm testing (Groce et al., ISSTA 2012): each program keeps every
  // operation kind, engine and ring of the table with probability 1/2 (at
  // least one read or write, one engine, one ring), so that some programs
  // are all reads of fresh holes, others all writes and truncates: more
  // diverse programs than one fixed mixture gives.
  bool swarm = true;

  static std::map<std::string, unsigned> default_weights();
  static std::map<std::string, unsigned> default_engines();
  static std::map<std::string, unsigned> default_rings();
  // Applies "name=weight" (an op kind, engine or ring); throws std::invalid_argument.
  void set_weight(const std::string& assignment);
};

// The filesystems programs run on: one default configuration each, for every kernel.
struct FsVariant {
  const char* name;      // "ext4-inline"
  const char* fstype;    // "ext4"
  const char* mkfs;      // options besides the user's
  uint64_t size_mib;     // scratch image size
};
std::span<const FsVariant> fs_variants();
// nullptr for a name that is none of them.
const FsVariant* find_fs_variant(std::string_view name);

// A random program: the same config and seed give the same program.
[[nodiscard]] Program generate_program(const GeneratorConfig& cfg, uint64_t seed);

}  // namespace diorace
