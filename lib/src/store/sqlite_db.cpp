// SPDX-License-Identifier: GPL-2.0-or-later
// The SQLite connection (SQLiteCpp): WAL journal, synchronous=FULL, foreign
// keys on, and a busy timeout so that several diorace processes can share a
// file.
#include <cctype>

#include <SQLiteCpp/SQLiteCpp.h>

#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>

#include <sqlite3.h>

#include "diorace/error.hpp"
#include "store/db.hpp"

namespace diorace {

namespace {

// "$12" -> "?12": SQLite's numbered parameters.
std::string to_sqlite_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1])))
      out.push_back('?');
    else
      out.push_back(sql[i]);
  }
  return out;
}

// What a failed statement means for a person, naming the store: a full
// filesystem (SQLite says "disk I/O error" when a write finds no room), a
// file that is no store, another process holding the lock.
[[noreturn]] void store_error(const std::string& path, const SQLite::Exception& e) {
  const int code = e.getErrorCode() & 0xff;
  std::string why = e.what();
  struct statvfs sv{};
  const std::string dir = std::filesystem::path(path).parent_path().empty()
                              ? std::string(".")
                              : std::filesystem::path(path).parent_path().string();
  if (code == SQLITE_FULL || (code == SQLITE_IOERR && ::statvfs(dir.c_str(), &sv) == 0 && sv.f_bavail == 0))
    why = "its filesystem is full (" + why + ")";
  else if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT)
    why = "not a diorace store, or damaged (" + why + ")";
  else if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
    why = "locked by another process for more than 30 s (" + why + ")";
  throw SetupError("store " + path + ": " + why);
}

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(const std::string& path, int flags, bool read_only) : db_(path, flags), path_(path) {
    db_.setBusyTimeout(30000);
    if (read_only) {
      // The journal mode is the writer's business; a read must work, though
      // (a WAL file on a read-only filesystem fails here, not at the open).
      db_.exec("SELECT COUNT(*) FROM sqlite_master");
      return;
    }
    // Switching a new file to WAL takes an exclusive lock, and SQLite does
    // not always wait for it through the busy handler: several processes
    // opening one new store at once (prove --jobs) retry here.
    for (int attempt = 0;; ++attempt) {
      try {
        db_.exec("PRAGMA journal_mode=WAL");
        break;
      } catch (const SQLite::Exception& e) {
        const int code = e.getErrorCode() & 0xff;
        if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || attempt >= 300) throw;
        ::usleep(100000);
      }
    }
    db_.exec("PRAGMA synchronous=FULL");
    db_.exec("PRAGMA foreign_keys=ON");
  }
  const char* dialect() const noexcept override { return "sqlite"; }
  void exec_script(const std::string& sql) override {
    try {
      db_.exec(sql);
    } catch (const SQLite::Exception& e) {
      store_error(path_, e);
    }
  }
  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
    try {
      return query_or_throw(sql, params);
    } catch (const SQLite::Exception& e) {
      store_error(path_, e);
    }
  }
  std::vector<Row> query_or_throw(const std::string& sql, const std::vector<Value>& params) {
    SQLite::Statement st(db_, to_sqlite_placeholders(sql));
    for (size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::monostate>)
              st.bind(idx);
            else if constexpr (std::is_same_v<T, int64_t>)
              st.bind(idx, static_cast<int64_t>(v));
            else
              st.bind(idx, v);
          },
          params[i]);
    }
    std::vector<Row> rows;
    while (st.executeStep()) {
      Row r;
      for (int c = 0; c < st.getColumnCount(); ++c) {
        auto col = st.getColumn(c);
        if (col.isNull())
          r.emplace_back(std::nullopt);
        else
          r.emplace_back(col.getString());
      }
      rows.push_back(std::move(r));
    }
    return rows;
  }
  void begin() override { exec_script("BEGIN IMMEDIATE"); }
  void commit() override { exec_script("COMMIT"); }
  void rollback() noexcept override {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
  void lock_schema() override {}  // BEGIN IMMEDIATE already excludes other writers

 private:
  SQLite::Database db_;
  std::string path_;
};

// A path as a SQLite URI's path: '%', '?' and '#' would be read as an
// escape, the query and the fragment.
std::string uri_path(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '%') out += "%25";
    else if (c == '?') out += "%3f";
    else if (c == '#') out += "%23";
    else out.push_back(c);
  }
  return out;
}

}  // namespace

std::unique_ptr<Database> open_sqlite(const std::string& path, bool read_only) {
  try {
    if (!read_only)
      return std::make_unique<SqliteDatabase>(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX,
                                              false);
    try {
      return std::make_unique<SqliteDatabase>(path, SQLite::OPEN_READONLY | SQLite::OPEN_FULLMUTEX, true);
    } catch (const SQLite::Exception&) {
      // A WAL database on a read-only filesystem cannot get its -shm file:
      // read it as immutable (nobody can be writing to it there).
      return std::make_unique<SqliteDatabase>("file:" + uri_path(path) + "?immutable=1",
                                              SQLite::OPEN_READONLY | SQLite::OPEN_URI | SQLite::OPEN_FULLMUTEX, true);
    }
  } catch (const SQLite::Exception& e) {
    const int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_READONLY || (code == SQLITE_CANTOPEN && ::access(path.c_str(), F_OK) == 0 &&
                                    ::access(path.c_str(), W_OK) != 0))
      throw SetupError("store " + path + " is read-only (" + e.what() + ")");
    if (code == SQLITE_CANTOPEN && ::access(path.c_str(), F_OK) == 0)
      throw SetupError("store " + path + " cannot be opened for writing (" + e.what() +
                       "; is its directory read-only?)");
    throw SetupError("store " + path + ": " + e.what());
  }
}

}  // namespace diorace
