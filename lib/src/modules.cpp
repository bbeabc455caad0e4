#include <filesystem>

#include "diorace/error.hpp"
#include "diorace/fd.hpp"
#include "diorace/process.hpp"
#include "diorace/vm.hpp"

namespace diorace {

namespace fs = std::filesystem;

namespace {
std::string normalise(std::string n) {
  for (auto& c : n)
    if (c == '-') c = '_';
  return n;
}
}  // namespace

std::vector<ModuleFile> index_modules(const std::string& dir) {
  std::vector<ModuleFile> out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    std::string base = it->path().filename().string();
    for (const char* ext : {".ko", ".ko.xz", ".ko.zst", ".ko.gz"}) {
      std::string e(ext);
      if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
        out.push_back({normalise(base.substr(0, base.size() - e.size())), it->path().string()});
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> module_depends(const std::string& elf) {
  // .modinfo is a sequence of NUL-terminated "key=value" strings.
  const std::string key("depends=");
  for (size_t pos = elf.find(key); pos != std::string::npos; pos = elf.find(key, pos + 1)) {
    if (pos > 0 && elf[pos - 1] != '\0') continue;
    size_t end = elf.find('\0', pos);
    std::string list = elf.substr(pos + key.size(), end - pos - key.size());
    std::vector<std::string> deps;
    size_t s = 0;
    while (s < list.size()) {
      size_t c = list.find(',', s);
      if (c == std::string::npos) c = list.size();
      if (c > s) deps.push_back(normalise(list.substr(s, c - s)));
      s = c + 1;
    }
    return deps;
  }
  return {};
}

std::string read_module(const std::string& path) {
  auto ends = [&](const char* e) {
    std::string s(e);
    return path.size() > s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  const char* tool = ends(".xz") ? "xz" : ends(".zst") ? "zstd" : ends(".gz") ? "gzip" : nullptr;
  if (!tool) return read_file(path);
  auto r = run_command({tool, "-dc", path});
  if (!r.ok()) throw SetupError(std::string("cannot decompress ") + path + " with " + tool + ": " + r.output);
  return r.output;
}

}  // namespace diorace
