// SPDX-License-Identifier: GPL-2.0-or-later
// Programs as cases: each repro/programs/NAME.json (a minimized finding of
// `diorace explore`, with the metadata a C++ case declares: race, fixing
// commits, known-bad kernels, controls) is compiled in (CMake embeds the
// files) and registered as case NAME. Every iteration runs the program on a
// fresh directory of the scratch filesystem it names and checks its history
// with the explorer's model; run, prove, the store and every report treat it
// like the hand-written cases.
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "diorace/error.hpp"
#include "diorace/interpreter.hpp"
#include "diorace/program.hpp"
#include "diorace/registry.hpp"
#include "diorace/scratchfs.hpp"
#include "diorace/target.hpp"
#include "program_texts.hpp"  // generated: kProgramTexts, {file name, JSON text} per program

namespace diorace {
namespace {

class ProgramCase final : public Case {
 public:
  explicit ProgramCase(Program p) : prog_(std::move(p)) {}

  void setup(CaseContext& ctx) override {
    const FsVariant* v = find_fs_variant(prog_.fs);
    if (!v) throw SetupError("the program names an unknown filesystem variant " + prog_.fs);
    fs_ = ScratchFilesystem::make(ctx.target, {.name = ctx.info.name, .fstype = v->fstype, .mkfs_options = v->mkfs,
                                               .size_mib = v->size_mib});
    interp_ = std::make_unique<Interpreter>();
  }

  std::vector<Corruption> iterate(CaseContext& ctx, uint64_t i) override {
    const std::string dir = fmt::format("{}/p{}", fs_.dir(), i);
    const uint64_t nonce = ctx.seed ^ (i * 0x9e3779b97f4a7c15ULL);
    InterpreterStats st;
    std::vector<Finding> findings = run_and_check(interp_, prog_, dir, nonce, st);
    ctx.stats.ios.fetch_add(st.ops, std::memory_order_relaxed);
    ctx.stats.forks.fetch_add(st.forks, std::memory_order_relaxed);
    for (auto& f : findings) ctx.report(std::move(f));
    return {};
  }

  void teardown(CaseContext&) noexcept override {
    interp_.reset();
    fs_ = ScratchFilesystem();
  }

 private:
  Program prog_;
  ScratchFilesystem fs_;
  std::unique_ptr<Interpreter> interp_;
};

// The oracles the model can exercise on this program, and only those: the
// contents oracle where it reads, the blocking one where it freezes, the
// deadline where it has userfaultfd regions (it then runs in a child with a
// deadline of its own); owed results, the kernel log, taint and hangs always.
OracleSet program_oracles(const Program& p) {
  OracleSet s{Oracle::result, Oracle::kmsg, Oracle::taint, Oracle::hang};
  if (p.has(OpKind::read)) s.add(Oracle::data);
  if (p.has(OpKind::freeze)) s.add(Oracle::must_block);
  if (may_hang_for_good(p)) s.add(Oracle::deadline);
  return s;
}

Verdict verdict_of(const std::string& s) { return s == "FAIL" ? Verdict::fail : Verdict::pass; }

// The declaration from the program file's "case" object; throws on a bad file
// (the build's program list is checked by the registry at start-up, like
// any case's declaration).
CaseInfo program_case_info(const char* file, const char* text) {
  const auto j = nlohmann::json::parse(text);
  const auto& c = j.at("case");
  auto prog = std::make_shared<Program>(j.get<Program>());
  CaseInfo info{
      .name = c.at("name").get<std::string>(),
      .summary = c.at("summary").get<std::string>(),
      .races = c.at("races").get<std::string>(),
      .seed_thread = fmt::format("diorace explore finding, minimized (repro/programs/{})", file),
      .known_bad = c.value("known_bad", std::vector<std::string>{}),
      .needs = kNeedRoot | kNeedLoop | kNeedODirect,
      .oracles = program_oracles(*prog),
      // Kernel-log reports of its own race (a WARNING the bug makes the
      // kernel print): the kernel-log oracle marks them "own race".
      .own_signatures = c.value("own_signatures", std::vector<std::string>{}),
      .iteration_timeout_s = 60,
      .default_duration_s = c.value("duration_s", 10.0),
  };
  for (const auto& f : c.value("fixed_by", nlohmann::json::array()))
    info.fixed_by.push_back(
        {f.at("hash").get<std::string>(), f.at("subject").get<std::string>(), f.value("mainline", std::string())});
  for (const auto& k : c.value("controls", nlohmann::json::array())) {
    Control ctl{.kernel = k.at("kernel").get<std::string>(), .expect = verdict_of(k.at("expect").get<std::string>())};
    if (k.contains("kind")) ctl.kind = fail_kind_from_string(k.at("kind").get<std::string>());
    ctl.duration_s = k.value("duration_s", 30.0);
    ctl.why = k.value("why", "");
    info.controls.push_back(std::move(ctl));
  }
  // An open finding (no fix known yet) is no regression case: "all" leaves it
  // out, as it leaves out the explorer; it runs by name.
  info.explorer = c.value("open", false);
  info.make = [prog] { return std::make_unique<ProgramCase>(*prog); };
  return info;
}

const bool registered = [] {
  for (const auto& [file, text] : kProgramTexts)
    if (file) Registry::instance().add(program_case_info(file, text));
  return true;
}();

}  // namespace
}  // namespace diorace
