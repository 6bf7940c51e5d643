// The reference command set served by actorloop-server (docs/protocol.md,
// "Commands"), written against the public handler API like any embedder's.

#include "server_session.hpp"

#include <charconv>

namespace actorloop::netio {

namespace {

bool parse_number(std::string_view text, std::uint64_t& value) {
  auto [end, problem] = std::from_chars(text.data(), text.data() + text.size(), value);
  return problem == std::errc{} && end == text.data() + text.size() && !text.empty();
}

void wrong(const reply& answer, const std::string& name, const std::string& usage) {
  answer.fail(server_codes::wrong_arguments, name + ": expected " + usage);
}

/// ROWS: streams its rows while the session's output is below the limit,
/// and continues when it drained.
struct rows_job : std::enable_shared_from_this<rows_job> {
  rows_job(reply answer, std::uint64_t count) : answer(std::move(answer)), left(count) {}
  void pump() {
    while (left > 0) {
      if (!answer.writable()) {
        auto self = shared_from_this();
        answer.when_writable([self] { self->pump(); });
        return;
      }
      if (!answer.row({"row " + std::to_string(sent)}))
        return; // canceled
      ++sent;
      --left;
    }
    answer.succeed("ROWS " + std::to_string(sent));
  }
  reply answer;
  std::uint64_t left;
  std::uint64_t sent = 0;
};

} // namespace

server_handlers demo_handlers() {
  server_handlers handlers;
  handlers.on("ECHO", [](const std::vector<std::string>& arguments, reply answer) {
    answer.row({arguments.begin() + 1, arguments.end()});
    answer.succeed("ECHO");
  });
  handlers.on("ROWS", [](const std::vector<std::string>& arguments, reply answer) {
    std::uint64_t count = 0;
    if (arguments.size() != 2 || !parse_number(arguments[1], count))
      return wrong(answer, "ROWS", "ROWS <count>");
    std::make_shared<rows_job>(std::move(answer), count)->pump();
  });
  handlers.on("SLEEP", [](const std::vector<std::string>& arguments, reply answer) {
    std::uint64_t milliseconds = 0;
    if (arguments.size() != 2 || !parse_number(arguments[1], milliseconds) ||
        milliseconds > 3'600'000)
      return wrong(answer, "SLEEP", "SLEEP <milliseconds up to 3600000>");
    // The timer holds the reply; a cancel finishes the reply first and the
    // timer's succeed then sends nothing. on_cancel drops the timer early.
    auto owner = answer.state()->owner.lock();
    auto timer = detail::schedule_on(owner->worker(),
                                     runtime::clock::now() + std::chrono::milliseconds(milliseconds),
                                     [answer] { answer.succeed("slept"); });
    answer.on_cancel([timer]() mutable { timer.reset(); });
  });
  for (const char* name : {"SUBSCRIBE", "UNSUBSCRIBE"}) {
    std::string command = name;
    handlers.on(command, [command](const std::vector<std::string>& arguments, reply answer) {
      if (arguments.size() != 2 || arguments[1].empty())
        return wrong(answer, command, command + " <channel>");
      if (command == "SUBSCRIBE")
        answer.subscribe(arguments[1]);
      else
        answer.unsubscribe(arguments[1]);
      answer.succeed(command + " " + arguments[1]);
    });
  }
  handlers.on("PUBLISH", [](const std::vector<std::string>& arguments, reply answer) {
    if (arguments.size() != 3 || arguments[1].empty())
      return wrong(answer, "PUBLISH", "PUBLISH <channel> <payload>");
    // Completes once every subscriber has the notification queued, so that
    // "delivered N" happens-before anything the publisher does next.
    answer.publish(arguments[1], arguments[2], [answer](std::size_t count) {
      answer.succeed("delivered " + std::to_string(count));
    });
  });
  handlers.on("STATS", [](const std::vector<std::string>&, reply answer) {
    auto owner = answer.state()->owner.lock();
    if (!owner)
      return;
    auto numbers = owner->server().statistics();
    for (auto& [key, number] : std::initializer_list<std::pair<const char*, std::uint64_t>>{
           {"sessions_open", numbers.sessions_open},
           {"sessions_accepted", numbers.sessions_accepted},
           {"requests", numbers.requests},
           {"completions", numbers.completions},
           {"notifications_delivered", numbers.notifications_delivered}})
      answer.row({key, std::to_string(number)});
    answer.succeed("STATS");
  });
  return handlers;
}

} // namespace actorloop::netio
