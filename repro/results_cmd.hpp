// The program's result-store and report commands (the dynamic build only:
// the static guest binary keeps no store; the VM host does).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "diorace/runner.hpp"
#include "diorace/vm.hpp"

namespace diorace {

// Records a `run` in the store (default store unless "none") and writes the
// requested report files when it ends. Throws UsageError for a bad --store or
// --origin before anything runs.
std::unique_ptr<RunObserver> make_run_recorder(const RunOptions& opts, const std::string& command);

// run_vm, with its result stored on the host under the guest kernel's
// identity (its run id in *stored_run when stored).
int run_vm_recorded(const VmOptions& o, const ReportTargets& out, const std::string& command,
                    int64_t* stored_run = nullptr);

int cmd_results(const std::vector<std::string>& args);
int cmd_report(const std::vector<std::string>& args);
int cmd_config(const std::vector<std::string>& args);
int cmd_bisect(const std::vector<std::string>& args, const std::string& command);
int cmd_bisect_step(const std::vector<std::string>& args, const std::string& command);

}  // namespace diorace
