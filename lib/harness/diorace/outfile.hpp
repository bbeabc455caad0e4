// SPDX-License-Identifier: GPL-2.0-or-later
// Files diorace writes for the user (--json, --junit, --ktap, --kcidb,
// --jsonl, --html): never anything that is not theirs to replace.
//
// A path is checked before the run starts: it must be a regular file or not
// exist yet, in an existing directory (a device, FIFO, directory or symbolic
// link is refused). The text goes to a temporary file created exclusively
// (O_CREAT|O_EXCL, which never follows a link) under an unpredictable name in
// the same directory, is fsynced, and is renamed over the path; on any error
// the temporary file is removed and the message names the path.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace diorace {

// Throws UsageError ("OPTION PATH: ...") when PATH may not be written.
void check_output_path(const std::string& path, const std::string& option);

// Throws UsageError when an output (option, path) is the same file as an
// input (the store, the config file) or as another output: the same device
// and inode where both exist, else the same resolved path. Empty paths, "-",
// "none" and URIs are left out.
void check_distinct_files(const std::vector<std::pair<std::string, std::string>>& outputs,
                          const std::vector<std::pair<std::string, std::string>>& inputs);

// Replaces PATH atomically with text (see above). Throws std::runtime_error
// naming PATH when it cannot.
void write_output_file(const std::string& path, const std::string& text);

}  // namespace diorace
