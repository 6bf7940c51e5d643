#pragma once
// The callables form of an applet (applet_callbacks) adapted to the class
// form, for spawn_applet and for supervisors that make their children.

#include <actorloop/actors/applet.hpp>

#include <string>
#include <utility>

namespace actorloop::actors::detail {

/// Runs each callback that is set; an unset one does nothing (dump falls
/// back to applet::dump).
class callbacks_applet final : public applet {
public:
  explicit callbacks_applet(applet_callbacks callbacks) : callbacks_(std::move(callbacks)) {}

  void init(applet_context& context) override {
    if (callbacks_.init)
      callbacks_.init(context);
  }
  void preselect(applet_context& context) override {
    if (callbacks_.preselect)
      callbacks_.preselect(context);
  }
  runtime::waitable postselect(applet_context& context, const runtime::waitable& fired) override {
    return callbacks_.postselect ? callbacks_.postselect(context, fired) : runtime::waitable{};
  }
  void destroy(applet_context& context) override {
    if (callbacks_.destroy)
      callbacks_.destroy(context);
  }
  std::string dump(const applet_context& context) const override {
    return callbacks_.dump ? callbacks_.dump(context) : applet::dump(context);
  }

private:
  applet_callbacks callbacks_;
};

} // namespace actorloop::actors::detail
