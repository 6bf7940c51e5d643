#include <actorloop/netio/detail/connection_core.hpp>

#include <actorloop/netio/error.hpp>

#include <csignal>
#include <cstring>
#include <future>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace actorloop::netio {

namespace {

/// The engine's signalfd, registered on I/O worker 0. Signal callbacks run
/// there, as ordinary code on a runtime thread, never in a signal handler.
class signal_hub final : public runtime::detail::engine_extension, public detail::io_handler {
public:
  ~signal_hub() override {
    if (fd_ >= 0)
      ::close(fd_);
  }

  /// Worker 0 only.
  void watch(int number, std::weak_ptr<context::state> owner) {
    auto& list = watchers_[number];
    list.push_back(std::move(owner));
    sigaddset(&mask_, number);
    block_here(number, true);
    update();
  }

  /// Worker 0 only.
  void unwatch(int number, const context::state* owner) {
    auto found = watchers_.find(number);
    if (found == watchers_.end())
      return;
    std::erase_if(found->second, [&](const std::weak_ptr<context::state>& each) {
      auto alive = each.lock();
      return !alive || alive.get() == owner;
    });
    if (found->second.empty()) {
      watchers_.erase(found);
      sigdelset(&mask_, number);
      update();
      block_here(number, false);
    }
  }

  void on_io(std::uint32_t) noexcept override {
    signalfd_siginfo info{};
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      int number = static_cast<int>(info.ssi_signo);
      auto found = watchers_.find(number);
      if (found == watchers_.end())
        continue;
      auto owners = found->second;
      for (auto& each : owners) {
        auto alive = each.lock();
        if (!alive)
          continue;
        signal_callback callback;
        {
          std::lock_guard guard{alive->mutex};
          auto entry = alive->signal_callbacks.find(number);
          if (entry != alive->signal_callbacks.end())
            callback = entry->second;
        }
        if (!callback)
          continue;
        ++detail::callback_depth();
        try {
          callback(number);
        } catch (...) {
          // A throwing signal callback must not take the I/O worker down.
        }
        --detail::callback_depth();
      }
    }
  }

  void on_worker_stopping() noexcept override {
    if (fd_ >= 0 && worker_) {
      worker_->remove(fd_, *this);
      registered_ = false;
    }
  }

  detail::io_worker* worker_ = nullptr;

private:
  static void block_here(int number, bool block) {
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, number);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &one, nullptr);
  }

  void update() {
    if (fd_ < 0) {
      fd_ = signalfd(-1, &mask_, SFD_NONBLOCK | SFD_CLOEXEC);
      if (fd_ < 0)
        throw error(errc::system_failure, std::string{"signalfd failed: "} + std::strerror(errno));
    } else if (signalfd(fd_, &mask_, 0) < 0) {
      throw error(errc::system_failure, std::string{"signalfd failed: "} + std::strerror(errno));
    }
    if (!registered_ && worker_) {
      if (auto failure = worker_->add(fd_, EPOLLIN, *this))
        throw error(failure, "registering the signalfd failed");
      registered_ = true;
    }
  }

  int fd_ = -1;
  bool registered_ = false;
  sigset_t mask_ = [] {
    sigset_t empty;
    sigemptyset(&empty);
    return empty;
  }();
  std::map<int, std::vector<std::weak_ptr<context::state>>> watchers_;
};

const char hub_key = 0;

signal_hub& hub_of(runtime::engine& engine) {
  return static_cast<signal_hub&>(runtime::detail::extension(engine, &hub_key, [] {
    return std::unique_ptr<runtime::detail::engine_extension>{std::make_unique<signal_hub>()};
  }));
}

} // namespace

void context::set_signal(int signal_number, signal_callback callback) {
  if (signal_number <= 0 || signal_number > SIGRTMAX || signal_number == SIGKILL ||
      signal_number == SIGSTOP) {
    auto text = "set_signal: " + std::to_string(signal_number) +
                " is not a signal that can be caught (1.." + std::to_string(SIGRTMAX) +
                ", except SIGKILL and SIGSTOP)";
    // An argument no run can make right: thrown, and reported nowhere else
    // (the failure rule in docs/netio.md).
    throw error(errc::invalid_argument, text);
  }
  bool install = static_cast<bool>(callback);
  {
    std::lock_guard guard{state_->mutex};
    if (install)
      state_->signal_callbacks[signal_number] = std::move(callback);
    else
      state_->signal_callbacks.erase(signal_number);
  }
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, signal_number);
  pthread_sigmask(install ? SIG_BLOCK : SIG_UNBLOCK, &one, nullptr);
  auto& pool = detail::pool_of(state_->engine);
  auto& hub = hub_of(state_->engine);
  auto& worker = pool.worker(0);
  hub.worker_ = &worker;
  std::weak_ptr<state> owner = state_;
  auto* raw = state_.get();
  std::promise<std::exception_ptr> done;
  auto finished = done.get_future();
  auto change = [&hub, owner, raw, signal_number, install, &done] {
    try {
      if (install)
        hub.watch(signal_number, owner);
      else
        hub.unwatch(signal_number, raw);
      done.set_value(nullptr);
    } catch (...) {
      done.set_value(std::current_exception());
    }
  };
  if (!worker.run_or_post(change))
    throw error(errc::shutting_down, "set_signal: the I/O workers are stopping");
  if (auto failure = finished.get())
    std::rethrow_exception(failure);
}

signal_callback context::signal(int signal_number) const {
  std::lock_guard guard{state_->mutex};
  auto found = state_->signal_callbacks.find(signal_number);
  return found == state_->signal_callbacks.end() ? signal_callback{} : found->second;
}

void block_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int each : signals)
    sigaddset(&set, each);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace actorloop::netio
