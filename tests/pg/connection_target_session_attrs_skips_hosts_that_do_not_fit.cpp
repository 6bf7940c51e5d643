// target_session_attrs as libpq checks it, with the next host tried when a
// server does not fit or refuses the login. A scripted server on loopback
// plays a hot standby (reporting in_hot_standby and
// default_transaction_read_only as PostgreSQL 14+ do, or, as an older server,
// answering SHOW transaction_read_only / pg_is_in_recovery()); the real
// PostgreSQL 15 is a primary. The right one is picked in each order.
// ctest-timeout: 120
#include "pg_fake_server.hpp"
#include "pg_server_support.hpp"
#include "pg_wire_support.hpp"

#include <atomic>
#include <mutex>

using namespace pg_server_test;

namespace {

struct standby_script {
  enum class kind { reporting_standby, old_standby, refuses_login };
  std::atomic<kind> behaviour{kind::reporting_standby}; // set by the test, read by the script
  std::mutex mutex;
  std::vector<std::string> queries;
};

void play(standby_script& plan, int fd) {
  using pg_test::wire;
  auto startup = pg_fake::read_untyped(fd);
  if (startup.empty())
    return;
  if (plan.behaviour == standby_script::kind::refuses_login) {
    pg_fake::send_all(fd, wire('E').raw("SFATAL").u8(0).raw("VFATAL").u8(0).raw("C28P01").u8(0)
                            .raw("Mpassword authentication failed for user \"trust_user\"").u8(0)
                            .u8(0).bytes());
    return;
  }
  std::string hello = wire('R').i32(0).bytes() +
                      wire('S').str("server_version").str("15.0 (scripted standby)").bytes();
  if (plan.behaviour == standby_script::kind::reporting_standby)
    hello += wire('S').str("in_hot_standby").str("on").bytes() +
             wire('S').str("default_transaction_read_only").str("off").bytes();
  hello += wire('K').i32(99).i32(1).bytes() + wire('Z').u8('I').bytes();
  pg_fake::send_all(fd, hello);
  for (;;) {
    auto message = pg_fake::read_typed(fd);
    if (message.empty() || message[0] == 'X')
      return;
    if (message[0] != 'Q')
      continue;
    auto sql = message.substr(1, message.size() - 2);
    {
      std::lock_guard guard{plan.mutex};
      plan.queries.push_back(sql);
    }
    bool show = sql.starts_with("SHOW");
    auto description = wire('T').i16(1).str(show ? "transaction_read_only" : "pg_is_in_recovery")
                         .i32(0).i16(0).i32(show ? 25 : 16).i16(show ? -1 : 1).i32(-1).i16(0);
    pg_fake::send_all(fd, description.bytes() +
                            wire('D').i16(1).i32(show ? 2 : 1).raw(show ? "on" : "t").bytes() +
                            wire('C').str(show ? "SHOW" : "SELECT 1").bytes() +
                            wire('Z').u8('I').bytes());
  }
}

} // namespace

TEST_CASE("target_session_attrs skips hosts that do not fit") {
  throwaway_server server;
  engine_fixture fixture;
  netio::context context{fixture.engine};
  standby_script plan;
  pg_fake::server standby{[&](int fd, int) { play(plan, fd); }};
  std::vector<std::string> problems;
  std::vector<pg::server_message> server_messages;

  auto connect = [&](std::vector<bool> standby_first_list, pg::session_attrs wanted,
                     pg::connection*& out) {
    auto options = server.options("trust_user", std::nullopt);
    options.hosts.clear();
    for (bool is_standby : standby_first_list)
      options.hosts.push_back(
        pg::host_spec{"127.0.0.1", is_standby ? standby.port() : server.port(), {}});
    options.target_session_attrs = wanted;
    out = new pg::connection{context, options};
    out->set_client_message([&](pg::connection*, const netio::client_message& problem) {
      problems.push_back(problem.text);
      return netio::callback_result::succeed;
    });
    out->set_server_message([&](pg::connection&, const pg::server_message& message) {
      server_messages.push_back(message);
    });
    return out->connect();
  };
  auto on_standby = [](pg::connection& connection) {
    return connection.parameter("server_version").value_or("").find("scripted") != std::string::npos;
  };
  pg::connection* raw = nullptr;
  int accepted_before = 0;
  auto reset = [&] {
    problems.clear();
    server_messages.clear();
    accepted_before = standby.accepted();
  };
  auto done = [&] {
    delete raw;
    raw = nullptr;
  };

  {
    INFO("read-write and primary skip the standby; standby takes it");
    reset();
    for (auto wanted : {pg::session_attrs::read_write, pg::session_attrs::primary}) {
      CAPTURE(static_cast<int>(wanted));
      REQUIRE(connect({true, false}, wanted, raw) == netio::retcode::succeed);
      CHECK_FALSE(on_standby(*raw));
      done();
    }
    REQUIRE(connect({false, true}, pg::session_attrs::standby, raw) == netio::retcode::succeed);
    CHECK(on_standby(*raw));
    done();
    REQUIRE(connect({false, true}, pg::session_attrs::read_only, raw) == netio::retcode::succeed);
    CHECK(on_standby(*raw));
    done();
    CHECK(standby.accepted() - accepted_before == 4);
    CHECK(problems.empty());
    std::lock_guard guard{plan.mutex};
    CHECK(plan.queries.empty()); // the ParameterStatus values were enough
  }

  {
    INFO("prefer-standby takes a later standby, else any server in a second pass");
    reset();
    REQUIRE(connect({false, true}, pg::session_attrs::prefer_standby, raw) ==
            netio::retcode::succeed);
    CHECK(on_standby(*raw));
    done();
    REQUIRE(connect({false}, pg::session_attrs::prefer_standby, raw) == netio::retcode::succeed);
    CHECK_FALSE(on_standby(*raw));
    done();
    CHECK(problems.empty());
  }

  {
    INFO("no host fits: the connect fails naming why, in libpq's words");
    reset();
    CHECK(connect({false}, pg::session_attrs::read_only, raw) == netio::retcode::fail);
    done();
    CHECK(connect({false, false}, pg::session_attrs::standby, raw) == netio::retcode::fail);
    done();
    REQUIRE(problems.size() == 2);
    CHECK_MESSAGE(problems[0].find("session is not read-only") != std::string::npos, problems[0]);
    CHECK_MESSAGE(problems[1].find("server is not in hot standby mode") != std::string::npos,
                  problems[1]);
    CHECK(problems[1].find("connect failed for every host") != std::string::npos);
  }

  {
    INFO("an older server is asked: SHOW transaction_read_only, pg_is_in_recovery()");
    reset();
    plan.behaviour = standby_script::kind::old_standby;
    REQUIRE(connect({true, false}, pg::session_attrs::read_write, raw) == netio::retcode::succeed);
    CHECK_FALSE(on_standby(*raw));
    done();
    auto second = connect({false, true}, pg::session_attrs::standby, raw);
    std::string first_problem = problems.empty() ? std::string{} : problems.front();
    INFO(first_problem);
    REQUIRE(second == netio::retcode::succeed);
    CHECK(on_standby(*raw));
    done();
    std::lock_guard guard{plan.mutex};
    REQUIRE(plan.queries.size() == 2);
    CHECK(plan.queries[0] == "SHOW transaction_read_only");
    CHECK(plan.queries[1] == "SELECT pg_catalog.pg_is_in_recovery()");
  }

  {
    INFO("a host that refuses the login gives way to the next");
    reset();
    plan.behaviour = standby_script::kind::refuses_login;
    REQUIRE(connect({true, false}, pg::session_attrs::any, raw) == netio::retcode::succeed);
    CHECK_FALSE(on_standby(*raw));
    CHECK(raw->connected());
    done();
    CHECK(problems.empty());
    REQUIRE(server_messages.size() == 1);
    CHECK(server_messages[0].sqlstate == "28P01");
    CHECK(standby.accepted() - accepted_before == 1);
  }
}
