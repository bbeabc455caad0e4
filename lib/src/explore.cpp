// SPDX-License-Identifier: GPL-2.0-or-later
#include "diorace/explore.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/evidence.hpp"
#include "diorace/fd.hpp"
#include "diorace/interpreter.hpp"
#include "diorace/klog.hpp"
#include "diorace/model.hpp"
#include "diorace/oracles.hpp"
#include "diorace/params.hpp"
#include "diorace/scratchfs.hpp"
#include "diorace/target.hpp"
#include "diorace/tempdir.hpp"

namespace diorace {

namespace {

// "--name value" or "--name=value": the value, or nullopt when arg is not --name.
std::optional<std::string> option_value(const std::vector<std::string>& args, size_t& i, const std::string& name) {
  const std::string& a = args[i];
  if (a == name) {
    if (i + 1 >= args.size()) throw UsageError(name + " needs a value");
    return args[++i];
  }
  if (a.rfind(name + "=", 0) == 0) return a.substr(name.size() + 1);
  return std::nullopt;
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out.substr(0, 120);
}

// The options that are the explore case's parameters: option, parameter.
constexpr std::pair<const char*, const char*> kExploreParams[] = {
    {"--actors", "actors"}, {"--ops", "ops"}, {"--files", "files"}, {"--fs", "variant"}};

}  // namespace

const char* const kExploreDetails =
    "  Generates random concurrent programs (threads, O_DIRECT/buffered psync, preadv2/pwritev2, libaio,\n"
    "  io_uring plain/IOPOLL/SQPOLL/IOSQE_ASYNC/registered buffers, truncate, fallocate, fsync, fork, fresh\n"
    "  inodes, freeze) on a scratch filesystem it makes, and checks each one against the data model\n"
    "  (docs/explore-model.md). It takes every option of 'diorace run' (--duration, --seed, --scratch-device,\n"
    "  --store, --json, ...) besides its own. Each finding is a FAIL of the explore case with its program\n"
    "  attached; 'diorace replay FILE' runs one again, 'diorace minimize FILE' shrinks it.\n";

boost::program_options::options_description explore_options_description() {
  namespace po = boost::program_options;
  po::options_description d("explore options");
  d.add_options()
      ("actors", po::value<std::string>(), "actors (threads) per program (default 3)")
      ("ops", po::value<std::string>(), "operations per actor (default 12)")
      ("files", po::value<std::string>(), "files per program (default 2)")
      ("fs", po::value<std::string>(), "filesystem: all (each in turn, --duration each), ext4, ext4-inline, xfs, btrfs (default all)")
      ("weight", po::value<std::vector<std::string>>(), "NAME=N: weight of an operation (read write truncate fallocate "
       "fsync fork recreate wait freeze), engine (psync pv2 libaio uring) or ring (plain iopoll sqpoll async fixed); 0 turns it off")
      ("findings", po::value<std::string>(), "write each finding's program here (default: diorace-findings)");
  return d;
}

ExploreArgs parse_explore_args(const std::vector<std::string>& args) {
  ExploreArgs out;
  out.run_args = {"explore", "--keep-going"};
  out.findings_dir = "diorace-findings";
  for (size_t i = 0; i < args.size(); ++i) {
    bool taken = false;
    for (const auto& [opt, param] : kExploreParams)
      if (auto v = option_value(args, i, opt)) {
        out.run_args.insert(out.run_args.end(), {"--param", fmt::format("explore.{}={}", param, *v)});
        taken = true;
        break;
      }
    if (taken) continue;
    if (auto v = option_value(args, i, "--weight")) {
      GeneratorConfig probe;
      try {
        probe.set_weight(*v);
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--weight: ") + e.what());
      }
      out.run_args.insert(out.run_args.end(), {"--param", "explore.w_" + *v});
      continue;
    }
    if (auto v = option_value(args, i, "--findings")) {
      if (v->empty()) throw UsageError("--findings needs a directory");
      out.findings_dir = *v;
      continue;
    }
    if (args[i] == "--keep-going") continue;
    if (!args[i].empty() && args[i][0] != '-' && (i == 0 || args[i - 1].rfind("--", 0) != 0))
      throw UsageError("explore takes no case names ('" + args[i] + "'): it runs its own programs");
    out.run_args.push_back(args[i]);
  }
  return out;
}

namespace {

// The program file of a finding: the program and what was found.
std::string write_program_file(const std::string& dir, nlohmann::json out, const nlohmann::json& finding) {
  std::filesystem::create_directories(dir);
  out["finding"] = finding;
  const std::string base = fmt::format("{}/{}-{:016x}", dir, sanitize(finding.value("signature", "finding")),
                                       out.value("seed", uint64_t{0}));
  const std::string text = out.dump(2) + "\n";
  for (unsigned n = 0;; ++n) {
    const std::string path = n ? fmt::format("{}-{}.json", base, n) : base + ".json";
    int err = 0;
    UniqueFd fd = UniqueFd::try_open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, err, 0644);
    if (!fd && err == -EEXIST) continue;  // never replace a file: the next free name
    if (!fd) throw_errno(-err, "create " + path);
    write_all(fd.get(), text.data(), text.size(), path);
    return path;
  }
}

}  // namespace

std::vector<std::string> write_finding_programs(const std::vector<CaseResult>& results, const std::string& dir) {
  std::vector<std::string> written;
  for (const auto& r : results)
    for (const auto& ev : r.events) {
      if (const auto* fe = std::get_if<FindingEvent>(&ev); fe && fe->what.detail.contains("program")) {
        const auto& d = fe->what.detail;
        written.push_back(write_program_file(
            dir, d.at("program"),
            {{"oracle", fe->what.oracle}, {"class", d.value("class", "")}, {"signature", d.value("signature", "")},
             {"summary", fe->what.summary}, {"kernel", d.value("kernel", "")}, {"iteration", d.value("iteration", 0)},
             {"elapsed_s", d.value("elapsed_s", 0.0)}, {"run_seed", r.seed}, {"evidence", fe->what.text}}));
      } else if (const auto* he = std::get_if<HangEvent>(&ev); he && he->context.contains("program")) {
        // The whole case process hung on a program: the runner's snapshot says where.
        const auto& c = he->context;
        written.push_back(write_program_file(
            dir, c.at("program"),
            {{"oracle", "hang"}, {"class", "hang"}, {"signature", c.value("signature", "")},
             {"summary", r.reason}, {"kernel", c.value("kernel", "")}, {"iteration", c.value("iteration", 0)},
             {"run_seed", r.seed}, {"evidence", he->text}}));
      }
    }
  return written;
}

ProgramFile read_program_file(const std::string& path) {
  std::string text;
  if (!try_read_file(path, text)) throw UsageError(path + ": cannot read it: " + std::strerror(errno));
  ProgramFile pf;
  try {
    const auto j = nlohmann::json::parse(text);
    pf.program = j.get<Program>();
    if (j.contains("finding")) {
      pf.finding = j.at("finding");
      pf.signature = pf.finding.value("signature", "");
    }
  } catch (const std::exception& e) {
    throw UsageError(path + ": not a program file: " + e.what());
  }
  if (!find_fs_variant(pf.program.fs)) throw UsageError(path + ": unknown filesystem variant '" + pf.program.fs + "'");
  return pf;
}

struct ReplayBench::Impl {
  std::string fs_name;
  std::optional<KernelLogWatch> klog;
  OwnedTempDir tmp;
  ScratchFilesystem fs;
  double deadline_s = 60;
  unsigned repeat = 1;
  unsigned runs = 0;
  ~Impl() { fs = ScratchFilesystem(); }
};

ReplayBench::ReplayBench(const BenchOptions& o) : impl_(std::make_unique<Impl>()) {
  const FsVariant* v = find_fs_variant(o.fs);
  if (!v) throw UsageError("unknown filesystem variant '" + o.fs + "'");
  if (::geteuid() != 0) throw UsageError("replays need root (a loop device, mkfs and mount)");
  // Mounts go with this process when it dies.
  if (::unshare(CLONE_NEWNS) == 0) (void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  impl_->deadline_s = o.deadline_s;
  impl_->repeat = std::max(1u, o.repeat);
  impl_->fs_name = o.fs;
  impl_->klog = KernelLogWatch::open();
  impl_->tmp = OwnedTempDir::create(o.dir, "diorace-replay-");
  const auto target = DirectoryTarget::open(impl_->tmp.path());
  impl_->fs = ScratchFilesystem::make(target, {.name = "replay", .fstype = v->fstype, .mkfs_options = v->mkfs,
                                               .size_mib = v->size_mib});
}

ReplayBench::~ReplayBench() = default;

bool ReplayBench::Run::hit(const std::string& signature) const {
  if (signature.empty()) return !signatures.empty();
  return std::find(signatures.begin(), signatures.end(), signature) != signatures.end();
}

ReplayBench::Run ReplayBench::run(const Program& p) {
  Run r;
  for (unsigned k = 0; k < impl_->repeat && r.signatures.empty(); ++k) {
    r = run_once(p);
    r.executions = k + 1;
  }
  return r;
}

ReplayBench::Run ReplayBench::run_once(const Program& p) {
  const std::string dir = fmt::format("{}/r{}", impl_->fs.dir(), impl_->runs++);
  const uint64_t nonce = p.seed ^ (0x51ed27001ULL * impl_->runs);
  // Every run in a child with the deadline: a hang is a finding (class
  // "hang"), and a program stuck in the kernel goes with its child.
  const ChildRun c = run_program_in_child(p, dir, nonce, impl_->deadline_s);
  Run r;
  if (impl_->klog)
    for (const auto& k : impl_->klog->drain()) {
      const Finding f = kernel_report_finding(k);
      r.signatures.push_back(finding_signature(f, impl_->fs_name));
      if (r.first_summary.empty()) r.first_summary = f.summary, r.first_evidence = f.text;
    }
  for (const auto& f : c.findings) {
    r.signatures.push_back(finding_signature(f, p.fs));
    if (r.first_summary.empty())
      r.first_summary = f.summary.empty() ? "the program did not finish" : f.summary, r.first_evidence = f.text;
  }
  return r;
}

HitRate measure(ReplayBench& bench, const Program& p, const std::string& signature, unsigned runs, double min_rate,
                bool early_stop) {
  HitRate h;
  const auto need = static_cast<unsigned>(std::ceil(min_rate * runs));
  for (unsigned i = 0; i < runs; ++i) {
    auto r = bench.run(p);
    ++h.runs;
    if (r.hit(signature)) {
      ++h.hits;
      if (h.first_summary.empty()) h.first_summary = r.first_summary;
    }
    if (early_stop && (h.hits >= need || h.hits + (runs - h.runs) < need)) break;
  }
  return h;
}

namespace {

// Simplifications of one operation, each a smaller or plainer variant.
std::vector<Op> simpler(const Op& o) {
  std::vector<Op> out;
  auto with = [&](auto change) {
    Op c = o;
    change(c);
    out.push_back(c);
  };
  if (o.after_actor >= 0) with([](Op& c) { c.after_actor = -1, c.after_op = 0; });
  if (o.spin) with([](Op& c) { c.spin = 0; });
  if (o.async) with([](Op& c) { c.async = false; });
  if (o.misalign) with([](Op& c) { c.misalign = 0; });
  if (o.hold_us) with([](Op& c) { c.hold_us = 0; });
  if (o.touch) with([](Op& c) { c.touch = false; });
  if (o.rwf) with([](Op& c) { c.rwf = 0; });
  if (o.api != Api::psync && (o.kind == OpKind::read || o.kind == OpKind::write))
    with([](Op& c) { c.api = Api::psync, c.async = false, c.rwf = 0, c.ring = Ring::plain; });
  if (o.api == Api::uring && o.ring != Ring::plain) with([](Op& c) { c.ring = Ring::plain; });
  return out;
}

}  // namespace

namespace {

// One minimization: the program so far, and how candidates are judged.
struct Minimizer {
  ReplayBench& bench;
  const std::string& signature;
  const MinimizeOptions& o;
  Minimized& m;
  unsigned accepted = 0;

  bool keeps(const Program& c) {
    // A candidate must be a program the generator could have written (a
    // shift only on actor 0's private file, no io_uring write in flight in
    // a program that freezes, hints to lower actors): the model's rules
    // assume it. Program files are checked the same way (from_json).
    try {
      (void)nlohmann::json(c).get<Program>();
    } catch (const std::invalid_argument&) {
      return false;
    }
    ++m.candidates;
    const auto need = static_cast<unsigned>(std::ceil(o.min_rate * o.runs));
    return measure(bench, c, signature, o.runs, o.min_rate, true).hits >= need;
  }
  bool try_accept(Program&& c, const std::string& what) {
    if (!keeps(c)) return false;
    ++accepted;
    m.program = std::move(c);
    if (o.progress)
      o.progress(fmt::format("{} ({} actors, {} operations)", what, m.program.actors.size(), m.program.op_count()));
    return true;
  }
  void remove_actors() {
    for (size_t a = 0; a < m.program.actors.size() && m.program.actors.size() > 1;) {
      Program c = m.program;
      c.erase_actor(a);
      if (!try_accept(std::move(c), fmt::format("removed actor {}", a))) ++a;
    }
  }
  // Halves of an actor's operations, then quarters, ... then single ones.
  void remove_ops(size_t a) {
    for (size_t chunk = std::max<size_t>(1, m.program.actors[a].ops.size() / 2);; chunk /= 2) {
      for (size_t i = 0; i < m.program.actors[a].ops.size();) {
        Program c = m.program;
        c.erase_ops(a, i, i + chunk);
        if (try_accept(std::move(c), fmt::format("removed {} operation(s) of actor {}", chunk, a))) continue;
        // An operation that only waited (its hint) for the others: its
        // wait may be what the finding needs, so the next operation takes
        // the hint over when it has none.
        if (chunk == 1 && carry_hint(a, i)) continue;
        i += chunk;
      }
      if (chunk <= 1) break;
    }
  }
  bool carry_hint(size_t a, size_t i) {
    const auto& ops = m.program.actors[a].ops;
    if (i + 1 >= ops.size() || ops[i].after_actor < 0 || ops[i + 1].after_actor >= 0) return false;
    Program c = m.program;
    c.actors[a].ops[i + 1].after_actor = ops[i].after_actor;
    c.actors[a].ops[i + 1].after_op = ops[i].after_op;
    c.erase_ops(a, i, i + 1);
    return try_accept(std::move(c), fmt::format("removed operation {} of actor {}, its hint carried to the next", i, a));
  }
  // File-backed buffers that still reproduce as anonymous memory become it.
  void anonymous_buffers() {
    if (!m.program.file_backed) return;
    Program c = m.program;
    c.file_backed = false;
    (void)try_accept(std::move(c), "anonymous buffers");
  }
  // Program-wide detail the finding may not need: huge pages, packed
  // buffers, a private file, and file slots no operation uses (the last
  // ones go; an unused loop device becomes a plain file first).
  bool used(unsigned f) const {
    for (const auto& a : m.program.actors)
      for (const auto& op : a.ops)
        if (op.file == f && uses_file(op)) return true;
    return false;
  }
  void program_detail() {
    auto attempt = [&](const char* what, auto change) {
      Program c = m.program;
      change(c);
      if (nlohmann::json(c) != nlohmann::json(m.program)) (void)try_accept(std::move(c), what);
    };
    attempt("no huge pages", [](Program& c) { c.huge = false; });
    attempt("spread buffers", [](Program& c) { c.packed = false; });
    attempt("no private file", [](Program& c) { c.private_file = -1; });
    for (unsigned f = 0; f < m.program.files; ++f)
      if (m.program.is_loop(f) && !used(f))
        attempt("an unused loop device as a plain file", [f](Program& c) { std::erase(c.loops, f); });
    while (m.program.files > 1 && !used(m.program.files - 1)) {
      const unsigned before = m.program.files;
      attempt("an unused file slot removed", [](Program& c) {
        const unsigned last = --c.files;
        c.initial_sizes.pop_back();
        std::erase(c.loops, last);
        if (c.private_file == static_cast<int>(last)) c.private_file = -1;
      });
      if (m.program.files == before) break;
    }
  }
  // A process actor that still reproduces as a thread becomes one.
  void threads_for_processes() {
    for (size_t a = 0; a < m.program.actors.size(); ++a) {
      if (!m.program.actors[a].process) continue;
      Program c = m.program;
      c.actors[a].process = false;
      (void)try_accept(std::move(c), fmt::format("actor {} as a thread", a));
    }
  }
  // Each accepted simplification starts the list again from the operation as it now is.
  void simplify_op(size_t a, size_t i) {
    std::set<std::string> tried;
    for (bool changed = true; changed;) {
      changed = false;
      for (const Op& s : simpler(m.program.actors[a].ops[i])) {
        if (!tried.insert(nlohmann::json(s).dump()).second) continue;
        Program c = m.program;
        c.actors[a].ops[i] = s;
        if (try_accept(std::move(c), fmt::format("simplified actor {} op {} to {}", a, i, nlohmann::json(s).dump()))) {
          changed = true;
          break;
        }
      }
    }
  }
};

}  // namespace

Minimized minimize_program(ReplayBench& bench, const Program& p, const std::string& signature,
                           const MinimizeOptions& o) {
  Minimized m;
  m.program = p;
  m.ops_before = p.op_count();
  Minimizer z{bench, signature, o, m};
  // Passes until one changes nothing: a simplification can make an operation
  // removable (a fork that no longer holds its child).
  for (unsigned before = UINT_MAX; before != z.accepted;) {
    before = z.accepted;
    z.remove_actors();
    for (size_t a = 0; a < m.program.actors.size(); ++a) z.remove_ops(a);
    z.threads_for_processes();
    z.anonymous_buffers();
    z.program_detail();
    for (size_t a = 0; a < m.program.actors.size(); ++a)
      for (size_t i = 0; i < m.program.actors[a].ops.size(); ++i) z.simplify_op(a, i);
  }
  for (size_t a = m.program.actors.size(); a-- > 0;)
    if (m.program.actors[a].ops.empty()) m.program.erase_actor(a);
  m.ops_after = m.program.op_count();
  m.rate = measure(bench, m.program, signature, o.runs);
  return m;
}

}  // namespace diorace
