// The coordinator's database layer against a real SQLite file: WAL really on,
// every column type, transactions that commit or roll back, errors a person can act on.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

#include "sqlite_db.hpp"
#include "support/temp_dir.hpp"

namespace spare::pool {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::int64_t count_rows(Database& db, const std::string& table) {
  Statement count = db.prepare("SELECT count(*) FROM " + table);
  EXPECT_TRUE(count.step());
  return count.integer(0);
}

TEST(SqliteDb, OpensInWalModeWithFullSyncAndForeignKeys) {
  const testing::TempDir dir;
  Database db(dir / "state.db");
  Statement journal = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(journal.step());
  EXPECT_EQ(journal.text(0), "wal");
  Statement synchronous = db.prepare("PRAGMA synchronous");
  ASSERT_TRUE(synchronous.step());
  EXPECT_EQ(synchronous.integer(0), 2);  // FULL
  Statement foreign_keys = db.prepare("PRAGMA foreign_keys");
  ASSERT_TRUE(foreign_keys.step());
  EXPECT_EQ(foreign_keys.integer(0), 1);
  EXPECT_EQ(db.file(), dir / "state.db");
}

TEST(SqliteDb, BindsAndReadsEveryType) {
  const testing::TempDir dir;
  Database db(dir / "state.db");
  db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, n TEXT)");
  const std::string with_nul("a\0b", 3);
  Statement insert = db.prepare("INSERT INTO t (i, r, s, n) VALUES (?, ?, ?, ?)");
  insert.bind_all(std::numeric_limits<std::int64_t>::min(), 2.5, with_nul, nullptr).run();
  EXPECT_EQ(db.changes(), 1);
  const std::int64_t first_id = db.last_insert_id();

  // The same statement again, with the other overloads: reset keeps it prepared.
  insert.reset();
  insert.bind(1, 7).bind(2, -0.125).bind(3, "text").bind(4, std::optional<std::string>("set"));
  insert.run();
  EXPECT_EQ(db.last_insert_id(), first_id + 1);
  insert.reset();
  insert.bind_all(std::optional<std::int64_t>(), std::optional<double>(), std::string_view("v"),
                  std::optional<std::string>());
  insert.run();

  Statement select = db.prepare("SELECT i, r, s, n FROM t ORDER BY id");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.integer(0), std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(select.real(1), 2.5);
  EXPECT_EQ(select.text(2), with_nul);
  EXPECT_TRUE(select.is_null(3));
  EXPECT_EQ(select.text(3), "");
  EXPECT_FALSE(select.is_null(0));

  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.integer(0), 7);
  EXPECT_EQ(select.real(1), -0.125);
  EXPECT_EQ(select.text(2), "text");
  EXPECT_EQ(select.text(3), "set");

  ASSERT_TRUE(select.step());
  EXPECT_TRUE(select.is_null(0));
  EXPECT_TRUE(select.is_null(1));
  EXPECT_EQ(select.text(2), "v");
  EXPECT_TRUE(select.is_null(3));
  EXPECT_FALSE(select.step());

  db.execute("UPDATE t SET i = 0");
  EXPECT_EQ(db.changes(), 3);
}

TEST(SqliteDb, ReadingOutsideTheRowIsAnError) {
  const testing::TempDir dir;
  Database db(dir / "state.db");
  Statement select = db.prepare("SELECT 1, 2");
  EXPECT_THROW(select.integer(0), DatabaseError);  // no row stepped to yet
  ASSERT_TRUE(select.step());
  try {
    select.integer(2);
    FAIL() << "column 2 of a two-column row was read";
  } catch (const DatabaseError& error) {
    EXPECT_TRUE(contains(error.what(), "column 2")) << error.what();
    EXPECT_TRUE(contains(error.what(), "SELECT 1, 2")) << error.what();
  }
}

TEST(SqliteDb, TransactionCommitsAndReturnsTheBodysValue) {
  const testing::TempDir dir;
  Database db(dir / "state.db");
  db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  const std::int64_t id = db.transaction([&] {
    db.prepare("INSERT INTO jobs (name) VALUES (?)").bind_all("heat").run();
    return db.last_insert_id();
  });
  EXPECT_GT(id, 0);
  EXPECT_EQ(count_rows(db, "jobs"), 1);
  db.transaction([&] { db.execute("DELETE FROM jobs"); });
  EXPECT_EQ(count_rows(db, "jobs"), 0);
}

TEST(SqliteDb, TransactionRollsBackWhenTheBodyThrows) {
  const testing::TempDir dir;
  Database db(dir / "state.db");
  db.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
  EXPECT_THROW(db.transaction([&] {
    db.prepare("INSERT INTO jobs (name) VALUES ('lost')").run();
    throw std::runtime_error("the body failed");
  }),
               std::runtime_error);
  EXPECT_EQ(count_rows(db, "jobs"), 0);
  // No transaction was left open: the next one starts and commits.
  db.transaction([&] { db.prepare("INSERT INTO jobs (name) VALUES ('kept')").run(); });
  EXPECT_EQ(count_rows(db, "jobs"), 1);
}

TEST(SqliteDb, ErrorsNameTheFileTheSqlAndSqlitesMessage) {
  const testing::TempDir dir;
  Database db(dir / "state.db");
  try {
    db.prepare("SELEC 1");
    FAIL() << "bad SQL was prepared";
  } catch (const DatabaseError& error) {
    EXPECT_TRUE(contains(error.what(), "SELEC 1")) << error.what();
    EXPECT_TRUE(contains(error.what(), "syntax error")) << error.what();
    EXPECT_TRUE(contains(error.what(), (dir / "state.db").string())) << error.what();
  }

  db.execute("CREATE TABLE tokens (hash TEXT PRIMARY KEY)");
  db.prepare("INSERT INTO tokens VALUES ('a')").run();
  try {
    db.prepare("INSERT INTO tokens VALUES (?)").bind_all("a").run();
    FAIL() << "a duplicate primary key was inserted";
  } catch (const DatabaseError& error) {
    EXPECT_TRUE(contains(error.what(), "INSERT INTO tokens VALUES (?)")) << error.what();
    EXPECT_TRUE(contains(error.what(), "UNIQUE constraint failed")) << error.what();
  }

  try {
    db.execute("CREATE TABLE tokens (x)");
    FAIL() << "a table was created twice";
  } catch (const DatabaseError& error) {
    EXPECT_TRUE(contains(error.what(), "CREATE TABLE tokens (x)")) << error.what();
    EXPECT_TRUE(contains(error.what(), "already exists")) << error.what();
  }

  EXPECT_THROW(db.prepare("SELECT 1; SELECT 2"), DatabaseError);  // one statement only
  EXPECT_NO_THROW(db.prepare("SELECT 1;  "));
}

TEST(SqliteDb, OpenFailureNamesTheFile) {
  const testing::TempDir dir;
  const auto file = dir / "missing-directory" / "state.db";
  try {
    Database db(file);
    FAIL() << "a database was opened in a directory that does not exist";
  } catch (const DatabaseError& error) {
    EXPECT_TRUE(contains(error.what(), file.string())) << error.what();
  }
}

TEST(SqliteDb, ASecondConnectionSeesCommittedRowsOnly) {
  const testing::TempDir dir;
  Database writer(dir / "state.db");
  writer.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT)");
  Database reader(dir / "state.db");
  writer.transaction([&] {
    writer.prepare("INSERT INTO jobs (name) VALUES ('pending')").run();
    // WAL: the reader is not blocked by the open write transaction, and does not see it.
    EXPECT_EQ(count_rows(reader, "jobs"), 0);
  });
  EXPECT_EQ(count_rows(reader, "jobs"), 1);
  Statement name = reader.prepare("SELECT name FROM jobs");
  ASSERT_TRUE(name.step());
  EXPECT_EQ(name.text(0), "pending");
}

}  // namespace
}  // namespace spare::pool
