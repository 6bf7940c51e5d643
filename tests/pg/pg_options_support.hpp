#pragma once
// Helpers for the option tests: an environment built from a map, so no test
// depends on the process's PG* variables or home directory.
#include <actorloop/pg/error.hpp>
#include <actorloop/pg/options.hpp>

#include <map>
#include <string>

namespace pg_test {

inline actorloop::pg::option_environment fake_environment(
  std::map<std::string, std::string> variables = {}, std::string home = {}) {
  actorloop::pg::option_environment env;
  env.variable = [variables = std::move(variables)](std::string_view name)
    -> std::optional<std::string> {
    auto it = variables.find(std::string(name));
    if (it == variables.end())
      return std::nullopt;
    return it->second;
  };
  env.os_user = "osuser";
  env.home = std::move(home);
  return env;
}

} // namespace pg_test
