// diorace prove: the declared controls of the cases, booted and checked.
#pragma once
#include <string>
#include <vector>

namespace diorace {

// Exit 0 when every control was met in every boot, 1 when a kernel did not
// behave as declared, 2 when a boot could not be made.
int cmd_prove(const std::vector<std::string>& args, const std::string& command);

}  // namespace diorace
