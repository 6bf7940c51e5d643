// Every started operation returns its id; an execute's result is taken by
// that id, and a result nobody takes does not shift later ones: each is
// found under its own id, in any order, exactly once.
// ctest-timeout: 60
#include "netio_test_support.hpp"

using namespace netio_test;

TEST_CASE("sync: results are taken by the id execute returned") {
  server_fixture fixture;
  netio::context context{fixture.engine};
  netio::connection connection{context};
  connect_or_fail(connection, fixture.address());
  auto first = connection.execute({"ECHO", "first"});
  REQUIRE(first == netio::retcode::succeed);
  auto second = connection.execute({"ECHO", "second"});
  REQUIRE(second == netio::retcode::succeed);
  CHECK(first.id != 0);
  CHECK(second.id != 0);
  CHECK(first.id != second.id);

  // The first is left untaken: the second is still found under its own id.
  auto taken = connection.take_result(second.id);
  REQUIRE(taken);
  CHECK(taken->request_id == second.id);
  REQUIRE(taken->rows.size() == 1);
  CHECK(taken->rows[0].columns == std::vector<std::string>{"second"});
  CHECK_FALSE(connection.take_result(second.id)); // exactly once

  // The oldest untaken one is the first, and says so.
  auto oldest = connection.take_result();
  REQUIRE(oldest);
  CHECK(oldest->request_id == first.id);
  CHECK(oldest->rows.at(0).columns == std::vector<std::string>{"first"});
  CHECK_FALSE(connection.take_result(first.id));
  CHECK_FALSE(connection.take_result());

  // A refused operation never started and has no id.
  auto refused = connection.execute(netio::request{});
  CHECK(refused == netio::retcode::fail);
  CHECK(refused.id == 0);
}

TEST_CASE("deferred pipelining: results taken in reverse order by id") {
  server_fixture fixture;
  netio::context context{fixture.engine, {netio::io_mode::deferred}};
  netio::connection_options options;
  options.pipelining = true;
  netio::connection connection{context, options};
  connect_or_fail(connection, fixture.address());
  std::vector<std::uint64_t> ids;
  for (int index = 0; index < 3; ++index) {
    auto started = connection.execute({"ECHO", "n" + std::to_string(index)});
    REQUIRE(started == netio::retcode::pending);
    ids.push_back(started.id);
  }
  int completions = 0;
  while (completions < 3) {
    auto polled = connection.poll(20s);
    REQUIRE(polled.code == netio::retcode::succeed);
    CHECK(polled.function == netio::function_id::execute);
    ++completions;
  }
  for (int index = 2; index >= 0; --index) {
    auto taken = connection.take_result(ids[static_cast<std::size_t>(index)]);
    REQUIRE(taken);
    CHECK(taken->request_id == ids[static_cast<std::size_t>(index)]);
    CHECK(taken->rows.at(0).columns.at(0) == "n" + std::to_string(index));
  }
  CHECK_FALSE(connection.take_result());
}
