// SPDX-License-Identifier: GPL-2.0-or-later
// The evidence a result carries: a closed set of event types. Each printer
// and report takes its text from evidence_text(); the JSON form (one codec,
// src/codec.cpp) keeps a "type" field naming the alternative.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "diorace/oracles.hpp"
#include "diorace/pattern.hpp"

namespace diorace {

// A kernel report found in the log: its class, opening line, whole block.
struct Splat {
  std::string cls;       // "kcsan", "lockdep", "warning", ...
  std::string title;     // the line that opened the block
  std::string text;      // the whole block
  unsigned count = 1;    // repeats folded into this one
  bool unrelated = false;  // a detector report that is not the case's own race
};
void to_json(nlohmann::json& j, const Splat& s);
void from_json(const nlohmann::json& j, Splat& s);  // codec: src/codec.cpp

// Data that did not match its self-describing pattern.
struct CorruptionEvent {
  Corruption what;
  uint64_t iteration = 0;
};
// A system call's result or behaviour the kernel does not owe (oracles.hpp).
struct FindingEvent {
  Finding what;
  uint64_t iteration = 0;
};
// A block of the kernel log (WARNING, KCSAN, lockdep, BUG ...); JSON type "splat".
struct KernelReportEvent {
  Splat what;
  bool own_race = false;  // the case's own race (its declared functions)
};
// An iteration past its deadline: the process group's snapshot.
struct HangEvent {
  std::string text;
  nlohmann::json processes = nlohmann::json::array();  // per process: state, wchan, stacks
  bool d_state = false;
  nlohmann::json context = nlohmann::json::object();  // what the iteration ran, as the case said (CaseStats::set_note)
};
// Taint flags the kernel gained during the case.
struct TaintEvent {
  std::string flags, text;
};
// A guest kernel's crash, from its console.
struct CrashEvent {
  std::string text;
};
// The console's tail where a guest run broke without a crash (context).
struct ConsoleEvent {
  std::string text;
};
// Context for a person (an oracle that was off, and why).
struct NoteEvent {
  std::string text;
};

using Event = std::variant<CorruptionEvent, FindingEvent, KernelReportEvent, HangEvent, TaintEvent, CrashEvent,
                           ConsoleEvent, NoteEvent>;

// "corruption", "finding", "splat", "hang", "taint", "crash", "console", "note"
std::string_view event_type(const Event& e) noexcept;
// The text a person reads (a corruption's report with its hex dump, a
// finding's evidence, a kernel log block, stacks, a console excerpt).
std::string evidence_text(const Event& e);
// The corruption class or kernel report class, "" for others.
std::string event_class(const Event& e);
// Context rather than evidence (notes, console tails).
bool is_context(const Event& e) noexcept;
// A kernel report that is not the case's race (a finding, not its verdict).
bool is_unrelated(const Event& e) noexcept;

void to_json(nlohmann::json& j, const Event& e);
void from_json(const nlohmann::json& j, Event& e);  // throws on an unknown type

}  // namespace diorace
