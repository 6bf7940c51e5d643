// An applet's exit reason travels as (code, category name, text); the
// receiving node maps the category name back to the category it knows.
#include "core.hpp"

namespace actorloop::nodes::detail {

actors::exit_reason make_exit_reason(std::int32_t code, const std::string& category,
                                     const std::string& text) {
  if (code == 0)
    return {};
  if (category == runtime::runtime_category().name())
    return {std::error_code{code, runtime::runtime_category()}, text};
  if (category == nodes_category().name())
    return {std::error_code{code, nodes_category()}, text};
  // A category this node does not know: keep the value and say whose it was.
  return {std::error_code{code, std::generic_category()}, "[" + category + "] " + text};
}

} // namespace actorloop::nodes::detail
