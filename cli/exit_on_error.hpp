// SPDX-License-Identifier: GPL-2.0-or-later
// How both programs (diorace and the static guest binary) end on an error:
// one line on stderr and exit 2 (usage, set-up and harness errors alike).
#pragma once
#include <cstdio>
#include <exception>

#include <boost/program_options/errors.hpp>

#include "diorace/error.hpp"
#include "diorace/outcome.hpp"

namespace diorace {

template <class F>
int exit_code_or_error(F&& command) {
  try {
    return command();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
  } catch (const boost::program_options::error& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "diorace: %s\n", e.what());
  }
  return kExitError;
}

}  // namespace diorace
