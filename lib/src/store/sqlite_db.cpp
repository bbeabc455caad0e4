// The SQLite connection (SQLiteCpp): WAL journal, synchronous=FULL, foreign
// keys on, and a busy timeout so that several diorace processes can share a
// file.
#include <cctype>

#include <SQLiteCpp/SQLiteCpp.h>

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

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(const std::string& path)
      : db_(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_FULLMUTEX) {
    db_.setBusyTimeout(30000);
    db_.exec("PRAGMA journal_mode=WAL");
    db_.exec("PRAGMA synchronous=FULL");
    db_.exec("PRAGMA foreign_keys=ON");
  }
  const char* dialect() const noexcept override { return "sqlite"; }
  void exec_script(const std::string& sql) override { db_.exec(sql); }
  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
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
  void begin() override { db_.exec("BEGIN IMMEDIATE"); }
  void commit() override { db_.exec("COMMIT"); }
  void rollback() noexcept override {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
  void lock_schema() override {}  // BEGIN IMMEDIATE already excludes other writers

 private:
  SQLite::Database db_;
};

}  // namespace

std::unique_ptr<Database> open_sqlite(const std::string& path) {
  try {
    return std::make_unique<SqliteDatabase>(path);
  } catch (const SQLite::Exception& e) {
    throw SetupError("store " + path + ": " + e.what());
  }
}

}  // namespace diorace
