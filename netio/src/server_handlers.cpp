// The registry of command handlers and session observers.

#include <actorloop/netio/error.hpp>
#include <actorloop/netio/server_handlers.hpp>

namespace actorloop::netio {

server_handlers& server_handlers::on(std::string command, command_handler handler) {
  if (command.empty())
    throw error(errc::invalid_argument, "server_handlers::on: the command name is empty");
  if (!handler)
    throw error(errc::invalid_argument,
                "server_handlers::on: the handler for '" + command + "' is empty");
  if (commands_.count(command) != 0)
    throw error(errc::invalid_argument,
                "server_handlers::on: '" + command + "' has a handler already");
  commands_.emplace(std::move(command), std::move(handler));
  return *this;
}

server_handlers& server_handlers::add(const server_handlers& other) {
  for (auto& [name, handler] : other.commands_)
    on(name, handler);
  for (auto& observer : other.login_)
    on_login(observer);
  for (auto& observer : other.close_)
    on_close(observer);
  return *this;
}

server_handlers& server_handlers::on_login(login_observer observer) {
  if (!observer)
    throw error(errc::invalid_argument, "server_handlers::on_login: the observer is empty");
  login_.push_back(std::move(observer));
  return *this;
}

server_handlers& server_handlers::on_close(close_observer observer) {
  if (!observer)
    throw error(errc::invalid_argument, "server_handlers::on_close: the observer is empty");
  close_.push_back(std::move(observer));
  return *this;
}

const command_handler* server_handlers::find(std::string_view command) const {
  auto found = commands_.find(command);
  return found == commands_.end() ? nullptr : &found->second;
}

std::vector<std::string> server_handlers::commands() const {
  std::vector<std::string> result;
  for (auto& [name, handler] : commands_)
    result.push_back(name);
  return result;
}

} // namespace actorloop::netio
