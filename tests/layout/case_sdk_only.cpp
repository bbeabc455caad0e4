// SPDX-License-Identifier: GPL-2.0-or-later
// Layout test: a case sees the SDK's headers (this compiles with the cases'
// include path); CASE_WITH_HARNESS adds a harness header, which must not.
#include "diorace/oracles.hpp"
#include "diorace/registry.hpp"
#include "diorace/target.hpp"
#ifdef CASE_WITH_HARNESS
#include "diorace/runner.hpp"
#endif
int main() { return 0; }
