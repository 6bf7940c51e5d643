#include <actorloop/runtime/thread.hpp>

#include <pthread.h>

namespace actorloop::runtime {

thread::thread(std::string name, std::function<void(std::stop_token)> body,
               std::optional<event> exit_event)
  : name_(std::move(name)) {
  if (!body)
    throw error(errc::invalid_argument, "thread '" + name_ + "': empty body");
  worker_ = std::jthread{[this, body = std::move(body),
                          exit_event = std::move(exit_event)](std::stop_token token) mutable {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    struct notify_on_exit {
      std::optional<event>& exit_event;
      ~notify_on_exit() {
        if (exit_event)
          exit_event->set();
      }
    } notify{exit_event};
    body(std::move(token));
  }};
}

thread::~thread() {
  if (worker_.joinable()) {
    request_stop();
    worker_.join();
  }
}

void thread::request_stop() {
  worker_.request_stop();
  if (auto* target = wake_target_.load())
    target->wake();
}

bool thread::stop_requested() const noexcept {
  return worker_.get_stop_token().stop_requested();
}

void thread::set_wake_target(wait_set* target) {
  wake_target_.store(target);
  if (target && stop_requested())
    target->wake();
}

void thread::join() {
  if (!worker_.joinable())
    return;
  if (worker_.get_id() == std::this_thread::get_id())
    throw error(errc::wrong_thread, "thread '" + name_ + "': join from the thread itself");
  worker_.join();
}

} // namespace actorloop::runtime
