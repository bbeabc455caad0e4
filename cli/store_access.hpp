// SPDX-License-Identifier: GPL-2.0-or-later
// The program's access to the result store (the dynamic build only: the
// static guest binary keeps no store; the VM host does).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/program_options/variables_map.hpp>
#include <nlohmann/json.hpp>

#include "diorace/runner.hpp"
#include "diorace/store.hpp"
#include "diorace/vm.hpp"

namespace diorace {

// Records a `run` in the store (default store unless "none") and writes the
// requested report files when it ends. Throws UsageError for a bad --store or
// --origin before anything runs.
std::unique_ptr<RunObserver> make_run_recorder(const RunOptions& opts);

// run_vm, with its result stored on the host under the guest kernel's
// identity (its run id in *stored_run when stored).
int run_vm_recorded(const VmOptions& o, const ReportTargets& out, int64_t* stored_run = nullptr);

// A store to write to (created if needed); "" is the default, "none" refused.
std::unique_ptr<Store> open_store_for_writing(const std::string& requested);
// A store to read from (read-only where it cannot be written); "" is the default.
std::unique_ptr<Store> open_store_for_reading(const std::string& requested);
int64_t parse_run_id(const std::string& s);
// Runs named by --run ids or --kernel, else the newest default_count.
std::vector<RunRecord> select_runs(Store& store, const boost::program_options::variables_map& vm,
                                        size_t default_count);
void print_run(const RunRecord& run);

}  // namespace diorace
