// SPDX-License-Identifier: GPL-2.0-or-later
// Strict numeric option values for Boost.Program_options. Its own conversion
// of "-1" to an unsigned type wraps to 2^64-1, and a double takes "inf" and
// "nan": a tester's typo must be an error, not a run that never ends.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <boost/any.hpp>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>

namespace diorace {

// A non-negative decimal integer: digits only, up to 2^64-1.
struct Count {
  uint64_t value = 0;
};
// A finite decimal number (no inf or nan).
struct Real {
  double value = 0;
};

void validate(boost::any& out, const std::vector<std::string>& values, Count*, int);
void validate(boost::any& out, const std::vector<std::string>& values, Real*, int);
inline std::ostream& operator<<(std::ostream& os, const Count& c) { return os << c.value; }
inline std::ostream& operator<<(std::ostream& os, const Real& r) { return os << r.value; }

// Throws UsageError for an option given with an empty value ("--store ''"
// would otherwise mean "the default", "--dir ''" a scratch directory), or a
// list option with an empty element; `may_be_empty` names the exceptions.
// Switches (options that take no value) are not concerned.
void reject_empty_values(const boost::program_options::variables_map& vm,
                         const boost::program_options::options_description& desc,
                         const std::vector<std::string>& may_be_empty = {});

}  // namespace diorace
