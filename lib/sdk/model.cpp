// SPDX-License-Identifier: GPL-2.0-or-later
// The explorer's model (docs/explore-model.md; the rules' sources are in
// shared/DIO-SEMANTICS.md, cited here as R0..R9).
#include "diorace/model.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "diorace/fault.hpp"

namespace diorace {

namespace {

constexpr int64_t kForever = INT64_MAX;
constexpr uint64_t kEnd = UINT64_MAX;
constexpr uint64_t kBlock = 4096;  // page and block granularity of collisions (R2)
// The freeze guardian thaws by itself this long after freezing (the
// interpreter gives it hold + 10 s; the hold is at most 51 ms): 10 s is
// the window the model trusts.
constexpr int64_t kGuardianDeadlineNs = 10'000'000'000LL;

int64_t end_of(const OpEvent& e) { return e.completed() ? e.end_ns : kForever; }

bool overlap_time(int64_t a0, int64_t a1, int64_t b0, int64_t b1) { return a0 < b1 && b0 < a1; }
bool overlap_blocks(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) {
  if (a1 <= a0 || b1 <= b0) return false;
  return a0 / kBlock <= (b1 - 1) / kBlock && b0 / kBlock <= (a1 - 1) / kBlock;
}

// A write or a zeroing of a range of one inode (R0): a candidate value for
// the bytes it covers. [lo, sure) is certain once it completed; [sure, hi)
// may or may not have happened (failed, short or never completed: "info").
struct Content {
  int64_t start = 0, end = 0;
  uint64_t lo = 0, hi = 0, sure = 0;
  bool zero = false;
  uint64_t write_id = 0;
  const OpEvent* ev = nullptr;  // null: the inode's birth
  bool clean = true;            // no other content event touched its blocks while it ran
  unsigned frame = 0;           // the inode's coordinates: shifts (COLLAPSE/INSERT) done before it
  int64_t delta = 0;            // its bytes now at p were written at p + delta (a shifted copy)
};

// A change of size: set (birth, truncate) or extend (a write or fallocate past EOF).
struct SizeChange {
  int64_t start = 0, end = 0;
  bool set = false;
  bool sure = false;
  uint64_t size = 0;
  unsigned frame = 0;
};

struct Inode {
  bool block_device = false;
  std::vector<Content> contents;
  std::vector<SizeChange> sizes;
  int64_t collided_from = kForever;  // a buffered write overlapped a direct request on a shared block (R2)
  int64_t mixed_from = kForever;     // from then on both buffered writes and direct requests had started (R6)
  // COLLAPSE_RANGE and INSERT_RANGE that succeeded, in time order (R12):
  // each starts a new frame of coordinates. From a shift that failed on,
  // nothing on the inode is checked (where its bytes are is not known).
  std::vector<const OpEvent*> shifts;
  int64_t unknown_from = kForever;

  [[nodiscard]] unsigned frame_of(int64_t t) const {
    unsigned k = 0;
    for (const OpEvent* s : shifts) k += s->end_ns < t;
    return k;
  }
};

bool is_modification(const OpEvent& e) {
  return e.op.kind == OpKind::write || e.op.kind == OpKind::truncate || e.op.kind == OpKind::fallocate;
}

bool zeroes(Falloc m) { return m == Falloc::punch_hole || m == Falloc::zero_range || m == Falloc::zero_keep; }
bool extends(Falloc m) { return m == Falloc::plain || m == Falloc::zero_range; }

void add_native(Inode& in, const OpEvent& e, bool ok, int64_t end, const Op& o);

void add_event(Inode& in, const OpEvent& e) {
  const bool ok = e.completed() && e.result >= 0;
  const int64_t end = end_of(e);
  const Op& o = e.op;
  const size_t c0 = in.contents.size(), s0 = in.sizes.size();
  add_native(in, e, ok, end, o);
  const unsigned frame = in.frame_of(e.start_ns);
  for (size_t i = c0; i < in.contents.size(); ++i) in.contents[i].frame = frame;
  for (size_t i = s0; i < in.sizes.size(); ++i) in.sizes[i].frame = frame;
}

void add_native(Inode& in, const OpEvent& e, bool ok, int64_t end, const Op& o) {
  switch (o.kind) {
    case OpKind::write: {
      const uint64_t done = ok ? static_cast<uint64_t>(e.result) : 0;
      in.contents.push_back({e.start_ns, end, o.offset, o.offset + o.length, o.offset + std::min(done, o.length), false,
                             e.write_id, &e});
      in.sizes.push_back({e.start_ns, end, false, done > 0, done > 0 ? o.offset + done : o.offset + o.length});
      break;
    }
    case OpKind::truncate:
      in.contents.push_back({e.start_ns, end, o.length, kEnd, ok ? kEnd : o.length, true, 0, &e});
      in.sizes.push_back({e.start_ns, end, true, ok, o.length});
      break;
    case OpKind::fallocate:
      if (zeroes(o.mode))
        in.contents.push_back(
            {e.start_ns, end, o.offset, o.offset + o.length, ok ? o.offset + o.length : o.offset, true, 0, &e});
      if (extends(o.mode)) in.sizes.push_back({e.start_ns, end, false, ok, o.offset + o.length});
      break;
    default:
      break;
  }
}

// R2: a buffered write that ran while a direct request on the same file
// did may revert bytes later (a stale folio written back), make the direct
// request or a later fsync fail with EIO.
void find_collisions(Inode& in, const std::vector<const OpEvent*>& evs) {
  int64_t first_buffered = kForever, first_direct = kForever;
  for (const OpEvent* e : evs) {
    if (e->op.kind == OpKind::write && !e->op.direct && e->start_ns) first_buffered = std::min(first_buffered, e->start_ns);
    if ((e->op.kind == OpKind::write || e->op.kind == OpKind::read) && e->op.direct && e->start_ns)
      first_direct = std::min(first_direct, e->start_ns);
  }
  in.mixed_from = std::max(first_buffered, first_direct);
  for (const OpEvent* b : evs) {
    // On a block device a buffered read that raced a direct write may also
    // leave a stale folio: the block layer invalidates the page cache when
    // an asynchronous direct write is submitted, not when it completes
    // (mm/filemap.c's generic_file_direct_write: readahead during the write
    // is "not supported 100%"), unlike iomap, which invalidates at completion.
    const bool stale_reader = in.block_device && b->op.kind == OpKind::read && !b->op.direct;
    if ((b->op.kind != OpKind::write || b->op.direct) && !stale_reader) continue;
    for (const OpEvent* d : evs) {
      if ((d->op.kind != OpKind::write && d->op.kind != OpKind::read) || !d->op.direct) continue;
      if (stale_reader && d->op.kind != OpKind::write) continue;
      // Any range of the file, not only shared blocks: xfs (and ext4 since
      // 6.16) cache files in large folios, and a dirty folio that a direct
      // write failed to invalidate may hold blocks the buffered write never
      // touched (files here are at most a few large folios long).
      if (!overlap_time(b->start_ns, end_of(*b), d->start_ns, end_of(*d))) continue;
      in.collided_from = std::min(in.collided_from, std::max(b->start_ns, d->start_ns));
    }
  }
}

void mark_clean(Inode& in) {
  for (auto& c : in.contents) {
    if (!c.ev) continue;
    for (const auto& o : in.contents)
      if (&o != &c && o.ev && o.frame == c.frame && overlap_time(c.start, c.end, o.start, o.end) &&
          overlap_blocks(c.lo, c.hi, o.lo, o.hi)) {
        c.clean = false;
        break;
      }
  }
}

struct SizeBounds {
  uint64_t low = 0, high = 0;
};

// The smallest and largest end of file the operation could have seen (R4, R5).
SizeBounds size_bounds(const Inode& in, const OpEvent& r) {
  const int64_t rend = end_of(r);
  const unsigned frame = in.frame_of(r.start_ns);
  SizeBounds b{kEnd, 0};
  // Each size set (birth, truncate) the read may still see is a base; the
  // extensions that surely came after it and before the read raise the low
  // bound, those that may have come after it (not done before it began) the high one.
  for (const auto& s : in.sizes) {
    if (s.start >= rend || !s.set || s.frame != frame) continue;
    bool superseded = false;
    for (const auto& t : in.sizes)
      if (&t != &s && t.frame == frame && t.set && t.sure && t.start > s.end && t.end < r.start_ns) superseded = true;
    if (superseded) continue;
    uint64_t low = s.size, high = s.size;
    for (const auto& x : in.sizes) {
      if (x.set || x.start >= rend || x.frame != frame) continue;
      if (x.sure && x.start > s.end && x.end < r.start_ns) low = std::max(low, x.size);
      if (x.end > s.start) high = std::max(high, x.size);
    }
    b.low = std::min(b.low, low);
    b.high = std::max(b.high, high);
  }
  if (b.low == kEnd) b.low = 0;
  return b;
}

// R12: each COLLAPSE_RANGE or INSERT_RANGE that succeeded copies the
// contents and sizes of the frame before it into the next one, moved as the
// shift moved the file's bytes (the generator runs shifts only where no I/O
// is in flight on the file, so every event is wholly before or after one).
uint64_t moved(uint64_t x, int64_t by) { return x == kEnd ? kEnd : static_cast<uint64_t>(static_cast<int64_t>(x) + by); }

void shift_piece(std::vector<Content>& out, const Content& c, uint64_t lo, uint64_t hi, int64_t by, unsigned frame) {
  if (lo >= hi) return;
  Content p = c;
  p.lo = moved(lo, by);
  p.hi = moved(hi, by);
  p.sure = moved(std::clamp(c.sure, lo, hi), by);
  p.delta = c.delta - by;
  p.frame = frame;
  out.push_back(p);
}

void apply_shifts(Inode& in) {
  for (unsigned k = 0; k < in.shifts.size(); ++k) {
    const OpEvent& s = *in.shifts[k];
    const uint64_t off = s.op.offset, len = s.op.length;
    const bool collapse = s.op.mode == Falloc::collapse;
    std::vector<Content> next;
    for (const auto& c : in.contents) {
      if (c.frame != k) continue;
      shift_piece(next, c, c.lo, std::min(c.hi, off), 0, k + 1);
      if (collapse)
        shift_piece(next, c, std::max(c.lo, off + len), c.hi, -static_cast<int64_t>(len), k + 1);
      else
        shift_piece(next, c, std::max(c.lo, off), c.hi, static_cast<int64_t>(len), k + 1);
    }
    if (!collapse)  // the inserted range is a hole
      next.push_back({s.start_ns, s.end_ns, off, off + len, off + len, true, 0, &s, true, k + 1, 0});
    // The size: what the file could have been when the shift ran, moved by it.
    const SizeBounds b = size_bounds(in, s);
    for (uint64_t was : {b.low, b.high}) {
      const uint64_t now = collapse ? (was > len ? was - len : 0) : was + len;
      in.sizes.push_back({s.start_ns, s.end_ns, true, true, now, k + 1});
    }
    in.contents.insert(in.contents.end(), next.begin(), next.end());
  }
}

std::map<uint64_t, Inode> build_inodes(const History& h) {
  std::map<uint64_t, Inode> inodes;
  for (const auto& b : h.births) {
    Inode& in = inodes[b.inode];
    in.block_device = b.block_device;
    in.contents.push_back({b.time_ns, b.time_ns, 0, kEnd, kEnd, true, 0, nullptr});
    in.sizes.push_back({b.time_ns, b.time_ns, true, true, b.size});
  }
  std::map<uint64_t, std::vector<const OpEvent*>> by_inode;
  for (const auto& e : h.events)
    if (e.inode && e.op.kind == OpKind::fallocate && shifts(e.op.mode)) {
      Inode& in = inodes[e.inode];
      if (e.completed() && e.result >= 0) in.shifts.push_back(&e);
      else in.unknown_from = std::min(in.unknown_from, e.start_ns);
    }
  for (auto& [ino, in] : inodes)
    std::sort(in.shifts.begin(), in.shifts.end(), [](const OpEvent* a, const OpEvent* b) { return a->start_ns < b->start_ns; });
  for (const auto& e : h.events)
    if (e.inode) {
      add_event(inodes[e.inode], e);
      by_inode[e.inode].push_back(&e);
    }
  for (auto& [ino, in] : inodes) {
    find_collisions(in, by_inode[ino]);
    mark_clean(in);
    apply_shifts(in);
  }
  return inodes;
}

// May the read r return `value` at byte p? (R0, R2, R5)
bool byte_allowed(const Inode& in, const OpEvent& r, uint64_t p, uint8_t value, uint64_t nonce,
                  const std::vector<const Content*>& near) {
  const bool any_order = in.collided_from < end_of(r);
  for (const Content* c : near) {
    if (p < c->lo || p >= c->hi) continue;
    const uint8_t v = c->zero ? 0 : stamp_byte(nonce, c->write_id, p + static_cast<uint64_t>(c->delta));
    if (v != value) continue;
    if (any_order) return true;
    bool superseded = false;
    for (const Content* d : near)
      if (d != c && d->clean && p >= d->lo && p < d->sure && d->start > c->end && d->end < r.start_ns) {
        superseded = true;
        break;
      }
    if (!superseded) return true;
  }
  return false;
}

Finding make_finding(const OpEvent& e, FailKind kind, const std::string& oracle, const std::string& cls,
                     const std::string& summary, const History& h) {
  Finding f;
  f.kind = kind;
  f.oracle = oracle;
  f.summary = fmt::format("{}: {}", e.where(), summary);
  f.text = f.summary;
  f.detail = {{"class", cls},         {"actor", e.actor},     {"index", e.index},   {"shape", e.op.shape()},
              {"op", e.op},           {"inode", e.inode},     {"result", e.result}, {"start_ns", e.start_ns},
              {"end_ns", e.end_ns},   {"fs", h.fstype}};
  return f;
}

// Which events of the whole history put `value` at p (for the explanation).
std::string explain_byte(const History& h, uint64_t inode, uint64_t p, uint8_t value) {
  if (value == kPoison) return "the buffer's poison: no data arrived for this byte";
  std::vector<std::string> who;
  for (const auto& e : h.events)
    if (e.inode == inode && e.op.kind == OpKind::write && p >= e.op.offset && p < e.op.offset + e.op.length &&
        stamp_byte(h.nonce, e.write_id, p) == value)
      who.push_back(e.where());
  if (value == 0) return "zero (a hole, a punch or a truncation)";
  if (who.empty()) return "no write of this program put this value there";
  return "written by " + fmt::format("{}", fmt::join(who, ", "));
}

void check_contents(const History& h, const Inode& in, const OpEvent& r, std::vector<Finding>& out) {
  const uint64_t n = std::min<uint64_t>(r.data.size(), static_cast<uint64_t>(std::max<int64_t>(r.result, 0)));
  std::vector<const Content*> near;
  const unsigned frame = in.frame_of(r.start_ns);
  for (const auto& c : in.contents)
    if (c.frame == frame && c.start < end_of(r) && c.lo < r.op.offset + n && c.hi > r.op.offset) near.push_back(&c);
  uint64_t first = kEnd, last = 0, bad = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t p = r.op.offset + i;
    if (byte_allowed(in, r, p, r.data[i], h.nonce, near)) continue;
    if (first == kEnd) first = p;
    last = p;
    ++bad;
  }
  if (!bad) return;
  const uint8_t got = r.data[first - r.op.offset];
  Finding f = make_finding(r, FailKind::corruption, "data", "contents",
                           fmt::format("{} byte(s) no write allowed, first at offset {} (0x{:02x}: {})", bad, first, got,
                                       explain_byte(h, r.inode, first, got)),
                           h);
  f.detail.update({{"first_bad", first}, {"last_bad", last}, {"bad_bytes", bad}, {"got", got}});
  std::vector<std::string> cands;
  for (const Content* c : near)
    if (first >= c->lo && first < c->hi)
      cands.push_back(c->ev ? fmt::format("{} [{}..{}]", c->ev->where(), c->start, c->end) : "birth (zeros)");
  f.detail["candidates"] = cands;
  f.text = f.summary + "\ncandidates for the first bad byte: " + fmt::format("{}", fmt::join(cands, "; "));
  out.push_back(std::move(f));
}

bool nowait(const Op& o) { return o.api == Api::pv2 && (o.rwf & RWF_NOWAIT); }

void check_counts(const History& h, const Inode& in, const OpEvent& e, std::vector<Finding>& out) {
  const Op& o = e.op;
  auto n = static_cast<uint64_t>(e.result);
  // TEST ONLY (--inject-fault oracle): the count taken as one byte more than asked for.
  const bool doctored = fault_doctor();
  if (doctored) n = o.length + 1;
  if (n > o.length) {
    Finding f = make_finding(e, FailKind::wrong_result, "result", "too_many",
                             fmt::format("{} bytes for a request of {}", n, o.length), h);
    if (doctored) f.text += " [fault injected: the result was doctored]";
    out.push_back(std::move(f));
    return;
  }
  if (o.kind == OpKind::write) {
    if (n < o.length && !nowait(o))
      out.push_back(make_finding(e, FailKind::wrong_result, "result", "short_write",
                                 fmt::format("a short write: {} of {} bytes, no error", n, o.length), h));
    return;
  }
  const SizeBounds b = size_bounds(in, e);
  // R10: a read into a userfaultfd region whose release raced its faults may
  // stop short; what it returned is still checked.
  if (n < o.length && !nowait(o) && !o.uffd && b.low > o.offset && n < std::min<uint64_t>(o.length, b.low - o.offset)) {
    Finding f = make_finding(e, FailKind::wrong_result, "result", "short_read",
                             fmt::format("{} bytes where {} were owed (the file was at least {} bytes long during "
                                         "the whole read, from offset {})",
                                         n, std::min<uint64_t>(o.length, b.low - o.offset), b.low, o.offset),
                             h);
    f.detail.update({{"owed_at_least", std::min<uint64_t>(o.length, b.low - o.offset)}, {"size_low", b.low}});
    out.push_back(std::move(f));
  }
  if (n > 0 && o.offset + n > b.high)
    out.push_back(make_finding(e, FailKind::wrong_result, "result", "past_eof",
                               fmt::format("{} bytes from offset {}, past every end of file it could see ({})", n,
                                           o.offset, b.high),
                               h));
}

bool is_environment(int err) {
  return err == ENOSPC || err == EDQUOT || err == ENOMEM || err == EFBIG || err == EMFILE || err == ENFILE;
}

void check_blocking(const History& h, const std::map<uint64_t, Inode>& inodes, std::vector<Finding>& out) {
  for (const auto& fz : h.events) {
    // Only a freeze that held until its own thaw: FITHAW fails (the
    // interpreter records -EIO) when the filesystem was no longer frozen
    // then, and such a window proves nothing.
    if (fz.op.kind != OpKind::freeze || !fz.frozen_from_ns || fz.result != 0) continue;
    for (const auto& e : h.events) {
      if (!is_modification(e) || !e.completed() || e.result < 0) continue;
      // A loop device over a file of the frozen filesystem: its buffered
      // writes may stay in the device's own page cache; a direct one goes
      // through the loop driver to the backing file and must wait (R8).
      const auto in = inodes.find(e.inode);
      if (in != inodes.end() && in->second.block_device && !e.op.direct) continue;
      if (e.op.kind == OpKind::write && e.result == 0) continue;
      // The guardian thaws by itself at its deadline (freeze.hpp): a window
      // longer than that is not one frozen throughout.
      const int64_t until = std::min(fz.frozen_until_ns, fz.frozen_from_ns + kGuardianDeadlineNs);
      if (e.start_ns <= fz.frozen_from_ns || e.start_ns >= until) continue;
      // TEST ONLY (--inject-fault oracle): one that waited for the thaw taken
      // as done inside the freeze.
      const bool doctored = e.end_ns >= until && fault_doctor();
      const int64_t end = doctored ? until - 1 : e.end_ns;
      if (end < until) {
        Finding f = make_finding(e, FailKind::not_blocked, "must_block", "not_blocked",
                                 fmt::format("completed while the filesystem was frozen by {} (started {} us after "
                                             "FIFREEZE returned, done {} us before FITHAW)",
                                             fz.where(), (e.start_ns - fz.frozen_from_ns) / 1000,
                                             (fz.frozen_until_ns - end) / 1000),
                                 h);
        if (doctored) f.text += " [fault injected: a write that waited was taken as done]";
        out.push_back(std::move(f));
      }
    }
  }
}

}  // namespace

std::string finding_signature(const Finding& f, const std::string& fs) {
  return fmt::format("{}|{}|{}|{}", f.oracle, f.detail.value("class", ""), f.detail.value("shape", ""), fs);
}

std::string OpEvent::where() const { return fmt::format("actor {} op {} ({})", actor, index, op.shape()); }

bool errno_allowed(const OpEvent& e, int err, const History& h, bool mixed) {
  const Op& o = e.op;
  if (err == EINTR) return true;  // R4: signals (the runner may stop and resume the case)
  switch (o.kind) {
    case OpKind::read:
    case OpKind::write: {
      // R4: NOWAIT; and an io_uring O_DIRECT request's CQE, which some
      // kernels complete with -EAGAIN for the application to reissue
      // (split bios that could not get a tag, liburing issues 766 and 1269;
      // "normally not likely, but can happen", liburing issue 838): seen on
      // 6.12.118 with xfs (SQPOLL) and on 6.1 (plain, IOPOLL).
      if (err == EAGAIN) return nowait(o) || (o.api == Api::uring && o.direct);
      // R10: a fault racing the userfaultfd's release; R11: a SIGBUS while
      // copying through a mapping (a page the filesystem could not provide:
      // ENOSPC or ENOMEM at fault time are not told apart from the rest).
      if (err == EFAULT) return o.uffd || o.api == Api::mmap;
      // R4, R6: RWF flags; IOPOLL without ->iopoll (btrfs), without O_DIRECT, or
      // on a device without poll queues (io_uring_setup(2): "the storage device
      // must be configured for polling"; newer kernels fail such polled bios
      // with EOPNOTSUPP instead of completing them unpolled, liburing#1389).
      if (err == EOPNOTSUPP) return (o.api == Api::pv2 && o.rwf) || (o.api == Api::uring && o.ring == Ring::iopoll);
      if (err == EINVAL) {  // R1: alignment beyond what statx promised
        if (!o.direct) return o.api == Api::pv2 && o.rwf;
        if (!h.dio_offset_align || !h.dio_mem_align || h.fstype == "btrfs") return true;
        // xfs checks writes against its own sector size, which mkfs may set
        // above what statx reports (4096 on a 512e disk): R1.
        if (h.fstype == "xfs" && o.kind == OpKind::write && (o.offset % 4096 || o.length % 4096)) return true;
        return o.offset % h.dio_offset_align || o.length % h.dio_offset_align || o.misalign % h.dio_mem_align;
      }
      // R2, R6(a): a direct request meeting a buffered one; R6(b): a write
      // with RWF_DSYNC or RWF_SYNC syncs, and reports the writeback error a
      // collision left (the page cache invalidation failure's EIO in wb_err).
      // R11: msync after an mmap write reports writeback errors as fsync does.
      if (err == EIO)
        return (o.direct || (o.api == Api::pv2 && (o.rwf & (RWF_DSYNC | RWF_SYNC))) ||
                (o.api == Api::mmap && o.kind == OpKind::write && o.datasync)) &&
               mixed;
      return false;
    }
    case OpKind::fallocate:
      return err == EOPNOTSUPP || err == EINVAL;  // R5, R6: modes per filesystem, sizes under the lock
    case OpKind::fsync:
      return err == EIO && mixed;  // R6(b)
    default:
      return false;
  }
}

std::vector<Finding> check_history(const History& h, ModelStats* stats) {
  ModelStats local;
  ModelStats& st = stats ? *stats : local;
  std::vector<Finding> out;
  const auto inodes = build_inodes(h);
  for (const auto& e : h.events) {
    if (!e.completed() || !e.inode) continue;
    const auto it = inodes.find(e.inode);
    if (it == inodes.end()) continue;
    const Inode& in = it->second;
    if (e.start_ns > in.unknown_from) continue;  // R12: after a shift that failed, where the bytes are is unknown
    if (e.result < 0) {
      const int err = static_cast<int>(-e.result);
      if (is_environment(err)) {
        ++st.environment_errors;
        continue;
      }
      if (!errno_allowed(e, err, h, in.mixed_from < end_of(e)))
        out.push_back(make_finding(e, FailKind::wrong_result, "result", std::string("errno:") + strerrorname_np(err),
                                   fmt::format("{} ({}), which this operation may not return here",
                                               strerrorname_np(err), std::strerror(err)),
                                   h));
      continue;
    }
    if (e.op.kind == OpKind::read || e.op.kind == OpKind::write) check_counts(h, in, e, out);
    if (e.op.kind == OpKind::read) {
      ++st.reads_checked;
      st.bytes_checked += e.data.size();
      check_contents(h, in, e, out);
    }
  }
  check_blocking(h, inodes, out);
  return out;
}

}  // namespace diorace
