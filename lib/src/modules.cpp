#include <filesystem>
#include <optional>

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

namespace {
// .modinfo is a sequence of NUL-terminated "key=value" strings.
std::optional<std::string> modinfo_field(const std::string& elf, const std::string& name) {
  const std::string key = name + "=";
  for (size_t pos = elf.find(key); pos != std::string::npos; pos = elf.find(key, pos + 1)) {
    if (pos > 0 && elf[pos - 1] != '\0') continue;
    size_t end = elf.find('\0', pos);
    return elf.substr(pos + key.size(), end - pos - key.size());
  }
  return std::nullopt;
}
}  // namespace

std::vector<std::string> module_softdeps_pre(const std::string& elf) {
  std::vector<std::string> out;
  auto v = modinfo_field(elf, "softdep");
  if (!v) return out;
  bool pre = false;
  size_t s = 0;
  while (s < v->size()) {
    size_t e = v->find(' ', s);
    if (e == std::string::npos) e = v->size();
    std::string w = v->substr(s, e - s);
    if (w == "pre:") pre = true;
    else if (w == "post:") pre = false;
    else if (pre && !w.empty()) out.push_back(normalise(w));
    s = e + 1;
  }
  return out;
}

std::vector<std::string> module_depends(const std::string& elf) {
  if (auto field = modinfo_field(elf, "depends")) {
    const std::string& list = *field;
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
