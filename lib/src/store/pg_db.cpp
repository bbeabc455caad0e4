// SPDX-License-Identifier: GPL-2.0-or-later
// The PostgreSQL connection (libpqxx). Parameters are quoted by the
// connection's own escaping (PQescapeLiteral) into the statement; explicit
// transactions map to one pqxx::work, single statements outside one run in
// autocommit (nontransaction).
#include <cctype>

#include <pqxx/pqxx>

#include "diorace/error.hpp"
#include "store/db.hpp"

namespace diorace {

namespace {

class PgDatabase final : public Database {
 public:
  explicit PgDatabase(const std::string& uri) : conn_(uri) {}
  const char* dialect() const noexcept override { return "postgresql"; }
  void exec_script(const std::string& sql) override {
    if (tx_) {
      tx_->exec(sql);
      return;
    }
    pqxx::nontransaction n(conn_);
    n.exec(sql);
  }
  std::vector<Row> query(const std::string& sql, const std::vector<Value>& params) override {
    std::string text = bind(sql, params);
    pqxx::result res;
    if (tx_) {
      res = tx_->exec(text);
    } else {
      pqxx::nontransaction n(conn_);
      res = n.exec(text);
    }
    std::vector<Row> rows;
    for (const auto& r : res) {
      Row row;
      for (const auto& f : r) {
        if (f.is_null())
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(std::string(f.c_str()));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }
  void begin() override { tx_ = std::make_unique<pqxx::work>(conn_); }
  void commit() override {
    tx_->commit();
    tx_.reset();
  }
  void rollback() noexcept override {
    try {
      if (tx_) tx_->abort();
    } catch (...) {
    }
    tx_.reset();
  }
  // Concurrent first runs against a new database must not both create the schema.
  void lock_schema() override { tx_->exec("SELECT pg_advisory_xact_lock(7273836501)"); }

 private:
  std::string literal(const Value& v) {
    return std::visit(
        [&](const auto& x) -> std::string {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::monostate>)
            return "NULL";
          else if constexpr (std::is_same_v<T, std::string>)
            return conn_.quote(x);
          else
            return std::to_string(x);
        },
        v);
  }
  std::string bind(const std::string& sql, const std::vector<Value>& params) {
    std::string out;
    for (size_t i = 0; i < sql.size();) {
      if (sql[i] == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
        size_t j = i + 1;
        while (j < sql.size() && std::isdigit(static_cast<unsigned char>(sql[j]))) ++j;
        size_t n = std::stoul(sql.substr(i + 1, j - i - 1));
        if (n == 0 || n > params.size()) throw std::logic_error("SQL parameter $" + std::to_string(n) + " not bound");
        out += literal(params[n - 1]);
        i = j;
      } else {
        out.push_back(sql[i++]);
      }
    }
    return out;
  }
  pqxx::connection conn_;
  std::unique_ptr<pqxx::work> tx_;
};

}  // namespace

std::string one_line(const std::string& text) {
  // Lines are joined with "; " (none after ':' '.' or ';'), runs of blanks
  // within a line become one space.
  std::string msg;
  bool line_break = false, blank = false;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      line_break = !msg.empty();
      continue;
    }
    if (c == '\t' || c == ' ') {
      blank = !msg.empty();
      continue;
    }
    if (line_break)
      msg += (msg.back() == ':' || msg.back() == '.' || msg.back() == ';') ? " " : "; ";
    else if (blank)
      msg += ' ';
    line_break = blank = false;
    msg.push_back(c);
  }
  return msg;
}

std::unique_ptr<Database> open_postgresql(const std::string& uri) {
  try {
    return std::make_unique<PgDatabase>(uri);
  } catch (const std::exception& e) {
    // libpq's messages span lines ("connection to server ... failed:\n
    // Connection refused\n\tIs the server running ..."): one line here.
    throw SetupError("store " + uri + ": " + one_line(e.what()));
  }
}

}  // namespace diorace
