// SPDX-License-Identifier: GPL-2.0-or-later
// One database connection behind a small interface, so that the store's SQL
// is written once for SQLite and PostgreSQL. Placeholders are $1, $2, ...
// (PostgreSQL's; the SQLite side rewrites them to ?1, ?2, ...).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace diorace {

class Database {
 public:
  using Value = std::variant<std::monostate, int64_t, double, std::string>;
  using Row = std::vector<std::optional<std::string>>;
  virtual ~Database() = default;
  virtual const char* dialect() const noexcept = 0;  // "sqlite" | "postgresql"
  // Several statements, no parameters (DDL).
  virtual void exec_script(const std::string& sql) = 0;
  // One statement; rows as text (NULL as nullopt).
  virtual std::vector<Row> query(const std::string& sql, const std::vector<Value>& params = {}) = 0;
  // A write transaction that excludes other writers (SQLite: BEGIN IMMEDIATE).
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  // Serialises schema migrations between processes (inside begin()).
  virtual void lock_schema() = 0;
};

// read_only: the file is opened read-only (listing a store on a read-only
// filesystem, or one whose file is not writable); writes then fail.
std::unique_ptr<Database> open_sqlite(const std::string& path, bool read_only = false);
std::unique_ptr<Database> open_postgresql(const std::string& uri);
// A multi-line message (libpq's) as one line: lines joined with "; ", blanks collapsed.
std::string one_line(const std::string& text);

// Commits on success, rolls back when an exception leaves the scope.
class Transaction {
 public:
  explicit Transaction(Database& db) : db_(db) { db_.begin(); }
  ~Transaction() {
    if (!done_) db_.rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    db_.commit();
    done_ = true;
  }

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace diorace
