// Client-Library's encryption and negotiation callbacks on a real
// PostgreSQL 15, in sync, deferred and async mode. The encryption callback
// computes the MD5 password from the server's salt (and a wrong answer
// gets the server's FATAL); the negotiation callback sees each SCRAM step
// (AuthenticationSASL, SASLContinue, SASLFinal) before pg answers it and
// can refuse the login, even after the server's signature verified. Each
// runs exactly as often as the server asks, on the thread Table 2-27 gives
// (the connect caller, the poll caller, the I/O worker). Refusals, throws
// and an empty answer fail the connect with a client message naming them.
// ctest-timeout: 180
#include "pg_mode_support.hpp"

#include <actorloop/pg/auth.hpp>

#include <algorithm>
#include <stdexcept>

using namespace pg_mode_test;

namespace {

struct call_log {
  std::mutex mutex;
  std::vector<std::thread::id> threads;
  std::vector<pg::negotiation_step> steps;
  std::vector<std::string> keys;
};

bool mentions(const std::vector<netio::client_message>& problems, const std::string& text) {
  for (auto& each : problems)
    if (each.text.find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("encryption and negotiation callbacks answer MD5 and audit SCRAM in every mode") {
  throwaway_server server;
  engine_fixture fixture;
  for (auto mode : {netio::io_mode::sync, netio::io_mode::deferred, netio::io_mode::async}) {
    CAPTURE(netio::to_string(mode));
    netio::context context{fixture.engine, {mode}};

    {
      INFO("md5: the encryption callback computes the password from the salt");
      call_log log;
      pg::connection connection{context, server.options("md5_user", "md5-secret")};
      mode_runner run{connection, mode};
      connection.set_encryption([&](pg::connection&, std::string_view password,
                                    std::string_view key, std::string& encrypted) {
        std::lock_guard guard{log.mutex};
        log.threads.push_back(std::this_thread::get_id());
        log.keys.emplace_back(key);
        encrypted = pg::md5_password("md5_user", password, key);
        return netio::callback_result::succeed;
      });
      int negotiations = 0;
      connection.set_negotiation([&](pg::connection&, const pg::negotiation_step&) {
        ++negotiations;
        return netio::negotiation_result::succeed;
      });
      REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
      CHECK(connection.authentication_method() == "md5");
      CHECK(run.result_of(connection.execute("SELECT 1 AS one")).results[0].int64(0, "one") == 1);
      REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
      std::lock_guard guard{log.mutex};
      REQUIRE(log.threads.size() == 1);
      CHECK(log.threads[0] == run.callback_thread());
      CHECK(log.keys[0].size() == 4);
      CHECK(negotiations == 0);
      CHECK(run.problems().empty());
    }

    {
      INFO("md5: a wrong answer reaches the server, which refuses it");
      pg::connection connection{context, server.options("md5_user", "md5-secret")};
      mode_runner run{connection, mode};
      std::vector<std::string> sqlstates;
      connection.set_server_message([&](pg::connection&, const pg::server_message& message) {
        sqlstates.push_back(message.sqlstate);
      });
      connection.set_encryption(
        [&](pg::connection&, std::string_view, std::string_view, std::string& encrypted) {
          encrypted = "md5" + std::string(32, '0');
          return netio::callback_result::succeed;
        });
      CHECK(run.finish(connection.connect()) == netio::retcode::fail);
      CHECK_FALSE(connection.connected());
      CHECK(sqlstates == std::vector<std::string>{"28P01"});
      CHECK(mentions(run.problems(), "28P01"));
    }

    struct refusal {
      const char* name;
      std::function<netio::callback_result(std::string&)> answer;
      const char* reported;
    };
    const refusal refusals[] = {
      {"fail", [](std::string&) { return netio::callback_result::fail; },
       "the encryption callback failed the login"},
      {"throw", [](std::string&) -> netio::callback_result { throw std::runtime_error("no key"); },
       "the encryption callback threw: no key"},
      {"empty", [](std::string&) { return netio::callback_result::succeed; },
       "the encryption callback gave an empty password"}};
    for (auto& each : refusals) {
      INFO("md5: the encryption callback refuses: ", each.name);
      pg::connection connection{context, server.options("md5_user", "md5-secret")};
      mode_runner run{connection, mode};
      int calls = 0;
      connection.set_encryption(
        [&](pg::connection&, std::string_view, std::string_view, std::string& encrypted) {
          ++calls;
          return each.answer(encrypted);
        });
      CHECK(run.finish(connection.connect()) == netio::retcode::fail);
      CHECK_FALSE(connection.connected());
      CHECK(calls == 1);
      CHECK_MESSAGE(mentions(run.problems(), each.reported), each.reported);
    }

    {
      INFO("cleartext: nothing to encrypt, the callback is not called");
      pg::connection connection{context, server.options("password_user", "password-secret")};
      mode_runner run{connection, mode};
      int calls = 0;
      connection.set_encryption([&](pg::connection&, std::string_view, std::string_view,
                                    std::string&) {
        ++calls;
        return netio::callback_result::fail;
      });
      REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
      REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
      CHECK(calls == 0);
    }

    {
      INFO("scram: the negotiation callback sees the three steps in order");
      call_log log;
      pg::connection connection{context, server.options("scram_user", "scram-secret")};
      mode_runner run{connection, mode};
      int encryptions = 0;
      connection.set_encryption([&](pg::connection&, std::string_view, std::string_view,
                                    std::string&) {
        ++encryptions;
        return netio::callback_result::fail;
      });
      connection.set_negotiation([&](pg::connection&, const pg::negotiation_step& step) {
        std::lock_guard guard{log.mutex};
        log.threads.push_back(std::this_thread::get_id());
        log.steps.push_back(step);
        return netio::negotiation_result::succeed;
      });
      REQUIRE(run.finish(connection.connect()) == netio::retcode::succeed);
      CHECK(connection.authentication_method() == "SCRAM-SHA-256");
      REQUIRE(run.finish(connection.close()) == netio::retcode::succeed);
      CHECK(encryptions == 0);
      std::lock_guard guard{log.mutex};
      REQUIRE(log.steps.size() == 3);
      for (auto& thread : log.threads)
        CHECK(thread == run.callback_thread());
      CHECK(log.steps[0].message_id == 10);
      CHECK(std::find(log.steps[0].offered.begin(), log.steps[0].offered.end(),
                      "SCRAM-SHA-256") != log.steps[0].offered.end());
      CHECK(log.steps[0].challenge.empty());
      CHECK(log.steps[0].answer.starts_with("n,,n=,r="));
      CHECK(log.steps[1].message_id == 11);
      CHECK(log.steps[1].challenge.starts_with("r="));
      CHECK(log.steps[1].answer.find(",p=") != std::string::npos);
      CHECK(log.steps[2].message_id == 12);
      CHECK(log.steps[2].challenge.starts_with("v="));
      CHECK(log.steps[2].answer.empty());
      for (auto& step : log.steps)
        CHECK(step.mechanism == "SCRAM-SHA-256");
    }

    struct veto {
      std::uint32_t at;
      netio::negotiation_result result;
      const char* reported;
    };
    const veto vetoes[] = {
      {10, netio::negotiation_result::fail, "the negotiation callback failed the login"},
      {11, netio::negotiation_result::continue_negotiation, "takes exactly one response"},
      // After the server's signature verified: the server's AuthenticationOk
      // and ReadyForQuery came with it, and must not connect.
      {12, netio::negotiation_result::fail, "the negotiation callback failed the login"}};
    for (auto& each : vetoes) {
      INFO("scram: the negotiation callback refuses at message ", each.at);
      pg::connection connection{context, server.options("scram_user", "scram-secret")};
      mode_runner run{connection, mode};
      std::vector<std::uint32_t> seen;
      connection.set_negotiation([&](pg::connection&, const pg::negotiation_step& step) {
        seen.push_back(step.message_id);
        return step.message_id == each.at ? each.result : netio::negotiation_result::succeed;
      });
      CHECK(run.finish(connection.connect()) == netio::retcode::fail);
      CHECK_FALSE(connection.connected());
      CHECK(seen.size() == each.at - 9);
      CHECK(seen.back() == each.at);
      CHECK_MESSAGE(mentions(run.problems(), each.reported), each.reported);
    }
  }
}
